import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { href, onLinkClick } from './router.ts';

/**
 * A page's frame: its title as the document's and as the one h1, which takes focus when the page
 * opens so a screen reader announces the new page after client-side navigation.
 */
export function Page(props: { title: string; children?: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · Tally console`;
    heading.current?.focus({ preventScroll: true });
  }, [props.title]);
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>{props.title}</h1>
      {props.children}
    </>
  );
}

/** An in-app link: a real href (open in a new tab works), navigated without a reload. */
export function Link(props: { to: string; children: ComponentChildren; current?: boolean; class?: string }) {
  return (
    <a href={href(props.to)} class={props.class} aria-current={props.current ? 'page' : undefined} onClick={(e) => onLinkClick(e, props.to)}>
      {props.children}
    </a>
  );
}

/** A message in a live region: errors are announced (role=alert), other notices politely. */
export function Notice(props: { kind: 'error' | 'info'; children: ComponentChildren }) {
  return props.kind === 'error'
    ? <p class="notice notice-error" role="alert">{props.children}</p>
    : <p class="notice" role="status">{props.children}</p>;
}
