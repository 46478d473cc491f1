/** The 31 waiting-list regions (zorgkantoorregio's) used to match alternatives "same region first". */
export const WAITING_LIST_REGIONS = [
  { code: 'groningen', name: 'Groningen' },
  { code: 'friesland', name: 'Friesland' },
  { code: 'drenthe', name: 'Drenthe' },
  { code: 'zwolle', name: 'Zwolle' },
  { code: 'twente', name: 'Twente' },
  { code: 'apeldoorn-zutphen', name: 'Apeldoorn Zutphen e.o.' },
  { code: 'arnhem', name: 'Arnhem' },
  { code: 'nijmegen', name: 'Nijmegen' },
  { code: 'midden-ijssel', name: 'Midden-IJssel' },
  { code: 'flevoland', name: 'Flevoland' },
  { code: 'utrecht', name: 'Utrecht' },
  { code: 't-gooi', name: "'t Gooi" },
  { code: 'noord-holland-noord', name: 'Noord-Holland Noord' },
  { code: 'kennemerland', name: 'Kennemerland' },
  { code: 'zaanstreek-waterland', name: 'Zaanstreek/Waterland' },
  { code: 'amsterdam', name: 'Amsterdam' },
  { code: 'amstelland-meerlanden', name: 'Amstelland en de Meerlanden' },
  { code: 'zuid-holland-noord', name: 'Zuid-Holland Noord' },
  { code: 'haaglanden', name: 'Haaglanden' },
  { code: 'delft-westland-oostland', name: 'Delft Westland Oostland' },
  { code: 'midden-holland', name: 'Midden-Holland' },
  { code: 'rotterdam', name: 'Rotterdam' },
  { code: 'waardenland', name: 'Waardenland' },
  { code: 'zuid-hollandse-eilanden', name: 'Zuid-Hollandse Eilanden' },
  { code: 'zeeland', name: 'Zeeland' },
  { code: 'west-brabant', name: 'West-Brabant' },
  { code: 'midden-brabant', name: 'Midden-Brabant' },
  { code: 'noordoost-brabant', name: 'Noordoost-Brabant' },
  { code: 'zuidoost-brabant', name: 'Zuidoost-Brabant' },
  { code: 'noord-midden-limburg', name: 'Noord- en Midden-Limburg' },
  { code: 'zuid-limburg', name: 'Zuid-Limburg' },
] as const;

export type RegionCode = (typeof WAITING_LIST_REGIONS)[number]['code'];

const NAMES = new Map<string, string>(WAITING_LIST_REGIONS.map((r) => [r.code, r.name]));

export function isRegion(code: unknown): code is RegionCode {
  return typeof code === 'string' && NAMES.has(code);
}

export function regionName(code: string): string {
  return NAMES.get(code) ?? code;
}
