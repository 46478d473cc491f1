import { WAITING_LIST_REGIONS, isRegion, regionName } from './regions';

describe('waiting-list regions', () => {
  it('are the 31 zorgkantoorregio’s, by their usual names', () => {
    expect(WAITING_LIST_REGIONS.map((r) => r.name)).toEqual([
      'Groningen',
      'Friesland',
      'Drenthe',
      'Zwolle',
      'Twente',
      'Apeldoorn Zutphen e.o.',
      'Arnhem',
      'Nijmegen',
      'Midden-IJssel',
      'Flevoland',
      'Utrecht',
      "'t Gooi",
      'Noord-Holland Noord',
      'Kennemerland',
      'Zaanstreek/Waterland',
      'Amsterdam',
      'Amstelland en de Meerlanden',
      'Zuid-Holland Noord',
      'Haaglanden',
      'Delft Westland Oostland',
      'Midden-Holland',
      'Rotterdam',
      'Waardenland',
      'Zuid-Hollandse Eilanden',
      'Zeeland',
      'West-Brabant',
      'Midden-Brabant',
      'Noordoost-Brabant',
      'Zuidoost-Brabant',
      'Noord- en Midden-Limburg',
      'Zuid-Limburg',
    ]);
  });

  it('have unique kebab-case codes that fit the database column (48 characters)', () => {
    const codes = WAITING_LIST_REGIONS.map((r) => r.code);
    expect(new Set(codes).size).toBe(31);
    for (const c of codes) {
      expect(c).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(c.length).toBeLessThanOrEqual(48);
    }
  });

  it('recognise only codes, not names or other values', () => {
    for (const r of WAITING_LIST_REGIONS) expect(isRegion(r.code)).toBe(true);
    for (const bad of ['Utrecht', 'utrecht ', '', 'noord-holland', null, undefined, 31]) expect(isRegion(bad)).toBe(false);
  });

  it('name a region for people, falling back to the code when it is unknown', () => {
    expect(regionName('t-gooi')).toBe("'t Gooi");
    expect(regionName('zaanstreek-waterland')).toBe('Zaanstreek/Waterland');
    expect(regionName('atlantis')).toBe('atlantis');
  });
});
