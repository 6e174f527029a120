/** Tax: quote net, tax and gross for invoice lines in a place on a date. */
import { builtInTaxRules } from './rates.ts';
import { tableTaxEngine } from './table-engine.ts';

export { taxLine } from './engine.ts';
export type { Product, TaxEngine, TaxLineInput, TaxLineResult, TaxLocation, TaxQuoteRequest, TaxRule } from './engine.ts';
export { knownTaxCountry, overrideRules, tableTaxEngine } from './table-engine.ts';
export { builtInTaxRules };

export const builtInTaxEngine = tableTaxEngine(builtInTaxRules);
