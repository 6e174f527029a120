/**
 * Rates the platform ships with, as of 2026: standard rates for consumer
 * digital services, simplified to one rate per place (no city or county
 * surtaxes). Deployments override any place with their own rules.
 */
import type { TaxRule } from './engine.ts';

/** A tax-inclusive country: VAT or GST already in the shelf price. */
function vat(country: string, ratePpm: number, name: string, from?: string): TaxRule {
  return { country, region: null, ratePpm, inclusive: true, name, ...(from ? { from } : {}) };
}

/** A tax-exclusive place: sales tax added on top of the price. */
function salesTax(country: string, region: string | null, ratePpm: number, name: string, when: Pick<TaxRule, 'from' | 'products'> = {}): TaxRule {
  return { country, region, ratePpm, inclusive: false, name, ...when };
}

const EU: TaxRule[] = [
  vat('AT', 200_000, 'AT VAT'),
  vat('BE', 210_000, 'BE VAT'),
  vat('BG', 200_000, 'BG VAT'),
  vat('HR', 250_000, 'HR VAT'),
  vat('CY', 190_000, 'CY VAT'),
  vat('CZ', 210_000, 'CZ VAT'),
  vat('DK', 250_000, 'DK VAT'),
  vat('EE', 200_000, 'EE VAT'),
  vat('EE', 220_000, 'EE VAT', '2024-01-01'),
  vat('EE', 240_000, 'EE VAT', '2025-07-01'),
  vat('FI', 240_000, 'FI VAT'),
  vat('FI', 255_000, 'FI VAT', '2024-09-01'),
  vat('FR', 200_000, 'FR VAT'),
  // The Covid-19 cut: 16% for the second half of 2020 only.
  vat('DE', 190_000, 'DE VAT'),
  vat('DE', 160_000, 'DE VAT', '2020-07-01'),
  vat('DE', 190_000, 'DE VAT', '2021-01-01'),
  vat('GR', 240_000, 'GR VAT'),
  vat('HU', 270_000, 'HU VAT'),
  vat('IE', 230_000, 'IE VAT'),
  vat('IT', 220_000, 'IT VAT'),
  vat('LV', 210_000, 'LV VAT'),
  vat('LT', 210_000, 'LT VAT'),
  // 16% during 2023 only, an inflation relief measure.
  vat('LU', 170_000, 'LU VAT'),
  vat('LU', 160_000, 'LU VAT', '2023-01-01'),
  vat('LU', 170_000, 'LU VAT', '2024-01-01'),
  vat('MT', 180_000, 'MT VAT'),
  vat('NL', 210_000, 'NL VAT'),
  vat('PL', 230_000, 'PL VAT'),
  vat('PT', 230_000, 'PT VAT'),
  vat('RO', 190_000, 'RO VAT'),
  vat('RO', 210_000, 'RO VAT', '2025-08-01'),
  vat('SK', 200_000, 'SK VAT'),
  vat('SK', 230_000, 'SK VAT', '2025-01-01'),
  vat('SI', 220_000, 'SI VAT'),
  vat('ES', 210_000, 'ES VAT'),
  vat('SE', 250_000, 'SE VAT'),
];

const REST_OF_WORLD: TaxRule[] = [
  vat('GB', 200_000, 'GB VAT'),
  vat('NO', 250_000, 'NO VAT'),
  vat('CH', 77_000, 'CH VAT'),
  vat('CH', 81_000, 'CH VAT', '2024-01-01'),
  vat('JP', 80_000, 'JP consumption tax'),
  vat('JP', 100_000, 'JP consumption tax', '2019-10-01'),
  vat('KR', 100_000, 'KR VAT'),
  vat('AU', 100_000, 'AU GST'),
  vat('NZ', 150_000, 'NZ GST'),
  vat('IN', 180_000, 'IN IGST'),
  // Brazil taxes streaming through several federal and municipal levies; the
  // federal PIS (1.65%) and COFINS (7.6%) stand in for them here.
  vat('BR', 92_500, 'BR PIS/COFINS'),
  vat('MX', 160_000, 'MX IVA'),
  // No VAT in Kuwait; the rule exists so Kuwait is a country we can bill.
  vat('KW', 0, 'KW no VAT'),
  vat('SG', 70_000, 'SG GST'),
  vat('SG', 80_000, 'SG GST', '2023-01-01'),
  vat('SG', 90_000, 'SG GST', '2024-01-01'),
  vat('ZA', 150_000, 'ZA VAT'),
  vat('AR', 210_000, 'AR IVA'),
  vat('CL', 190_000, 'CL IVA'),
  vat('CO', 190_000, 'CO IVA'),
  vat('TR', 180_000, 'TR VAT'),
  vat('TR', 200_000, 'TR VAT', '2023-07-10'),
];

// Federal GST everywhere, with the provincial part added where the province
// taxes digital services (HST, QST, or a PST that covers streaming).
const CANADA: TaxRule[] = [
  salesTax('CA', null, 50_000, 'CA GST'),
  salesTax('CA', 'AB', 50_000, 'CA-AB GST'),
  salesTax('CA', 'NT', 50_000, 'CA-NT GST'),
  salesTax('CA', 'NU', 50_000, 'CA-NU GST'),
  salesTax('CA', 'YT', 50_000, 'CA-YT GST'),
  salesTax('CA', 'ON', 130_000, 'CA-ON HST'),
  salesTax('CA', 'NS', 150_000, 'CA-NS HST'),
  salesTax('CA', 'NS', 140_000, 'CA-NS HST', { from: '2025-04-01' }),
  salesTax('CA', 'NB', 150_000, 'CA-NB HST'),
  salesTax('CA', 'NL', 150_000, 'CA-NL HST'),
  salesTax('CA', 'PE', 150_000, 'CA-PE HST'),
  salesTax('CA', 'QC', 149_750, 'CA-QC GST+QST'),
  // BC's 7% PST reaches streaming as a telecommunication service.
  salesTax('CA', 'BC', 120_000, 'CA-BC GST+PST'),
  salesTax('CA', 'SK', 110_000, 'CA-SK GST+PST'),
  salesTax('CA', 'MB', 120_000, 'CA-MB GST+RST'),
];

// No federal sales tax; state base rates only. Several states tax a DVD
// rental as tangible property but leave streaming video alone.
const UNITED_STATES: TaxRule[] = [
  salesTax('US', null, 0, 'US no sales tax'),
  salesTax('US', 'WA', 65_000, 'US-WA sales tax'),
  salesTax('US', 'TX', 62_500, 'US-TX sales tax'),
  salesTax('US', 'PA', 60_000, 'US-PA sales tax'),
  // 4.85% state plus the 1.25% local rate levied everywhere in Utah.
  salesTax('US', 'UT', 61_000, 'US-UT sales tax'),
  salesTax('US', 'NJ', 66_250, 'US-NJ sales tax'),
  salesTax('US', 'TN', 70_000, 'US-TN sales tax'),
  salesTax('US', 'OH', 57_500, 'US-OH sales tax'),
  // Connecticut taxes digital goods at a reduced 1%.
  salesTax('US', 'CT', 10_000, 'US-CT sales tax', { products: ['streaming'] }),
  salesTax('US', 'CT', 63_500, 'US-CT sales tax', { products: ['dvd'] }),
  salesTax('US', 'CA', 0, 'US-CA sales tax', { products: ['streaming'] }),
  salesTax('US', 'CA', 72_500, 'US-CA sales tax', { products: ['dvd'] }),
  salesTax('US', 'NY', 0, 'US-NY sales tax', { products: ['streaming'] }),
  salesTax('US', 'NY', 40_000, 'US-NY sales tax', { products: ['dvd'] }),
  // Florida reaches video streaming through its communications services tax,
  // not sales tax; that tax is out of scope here.
  salesTax('US', 'FL', 0, 'US-FL sales tax', { products: ['streaming'] }),
  salesTax('US', 'FL', 60_000, 'US-FL sales tax', { products: ['dvd'] }),
  salesTax('US', 'MA', 0, 'US-MA sales tax', { products: ['streaming'] }),
  salesTax('US', 'MA', 62_500, 'US-MA sales tax', { products: ['dvd'] }),
  salesTax('US', 'VA', 0, 'US-VA sales tax', { products: ['streaming'] }),
  salesTax('US', 'VA', 53_000, 'US-VA sales tax', { products: ['dvd'] }),
  salesTax('US', 'OR', 0, 'US-OR no sales tax'),
];

export const builtInTaxRules: TaxRule[] = [...EU, ...REST_OF_WORLD, ...CANADA, ...UNITED_STATES];
