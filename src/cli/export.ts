/** Placeholder until the commands land (issue 11, being built). */
export async function exportCommand(_rest: string[], _values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  throw usageError('not built yet');
}
export async function queryCommand(_rest: string[], _values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  throw usageError('not built yet');
}
