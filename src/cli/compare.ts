/** Placeholder until the command lands (issue 11, being built). */
export async function compareCommand(_rest: string[], _values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  throw usageError('not built yet');
}
