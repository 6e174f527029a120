import type { Role } from './api/client.ts';

export interface Section {
  path: string;
  label: string;
  /** Roles that see the section in the nav and may open it. */
  roles: readonly Role[];
}

/**
 * The console's sections; a page added later goes under one of these paths. A section is shown
 * to the role its API serves: the API gives each role only its own routes (least privilege), so
 * an admin key is not a customer-service or finance key, and sees operations and migration.
 */
export const sections: readonly Section[] = [
  { path: '/cs', label: 'Customer service', roles: ['cs-agent'] },
  { path: '/finance', label: 'Finance', roles: ['finance'] },
  { path: '/operations', label: 'Operations', roles: ['admin'] },
  { path: '/migration', label: 'Migration', roles: ['admin'] },
];

export function sectionsFor(role: Role): Section[] {
  return sections.filter((s) => s.roles.includes(role));
}

/** The section a path belongs to (/cs/members/m1 → Customer service), if any. */
export function sectionOf(path: string): Section | undefined {
  return sections.find((s) => path === s.path || path.startsWith(`${s.path}/`));
}
