/**
 * A synthetic but plausible national GGZ provider registry for demos and benchmarks: providers
 * (AGB), their locations in the 31 waiting-list regions, insurer contracts and monthly waiting
 * times. Everything here is invented; names come from word lists, AGB codes are random.
 *
 * The generator is pure and deterministic: a seeded PRNG, no Math.random, no clock. `today` only
 * shifts dates (the reporting months, the contract years); providers, locations and the figures
 * themselves depend on the seed alone, so a registry generated on another day has the same AGBs.
 *
 * The loader inserts it in one multi-row statement and is idempotent: providers that
 * already exist are skipped with everything that hangs off them.
 */
import { DIAGNOSIS_GROUP_CODES, DiagnosisGroup, isIsoDate, RegionCode, SeededRandom, WAITING_LIST_REGIONS } from '@app/core';

export interface DemoProvider {
  agb: string;
  name: string;
}

export interface DemoLocation {
  agb: string;
  /** Unique per provider. */
  code: string;
  name: string;
  postcode: string;
  municipality: string;
  region: RegionCode;
  diagnosisGroups: DiagnosisGroup[];
}

export interface DemoContract {
  uzovi: string;
  agb: string;
  /** YYYY-MM-DD, inclusive. */
  validFrom: string;
  /** YYYY-MM-DD, exclusive; null for open-ended. */
  validUntil: string | null;
}

export interface DemoWait {
  agb: string;
  locationCode: string;
  diagnosisGroup: DiagnosisGroup;
  /** YYYY-MM: the month the figures describe. */
  month: string;
  aanmeldWeeks: number;
  behandelWeeks: number;
}

export interface DemoRegistry {
  providers: DemoProvider[];
  locations: DemoLocation[];
  contracts: DemoContract[];
  waits: DemoWait[];
}

export interface DemoRegistryOptions {
  /** The day the registry describes, YYYY-MM-DD (the Europe/Amsterdam date, usually). */
  today: string;
  /** How many providers; every region gets at least one once there are 31 or more. */
  providers?: number;
  seed?: number;
}

/**
 * The ten insurer groups, one UZOVI code each. The first four are the real codes of the big four;
 * the other six are real-looking stand-ins for the smaller groups, for demos only.
 */
export const DEMO_INSURERS: readonly { uzovi: string; name: string }[] = [
  { uzovi: '3311', name: 'Zilveren Kruis' },
  { uzovi: '7095', name: 'VGZ' },
  { uzovi: '7119', name: 'CZ' },
  { uzovi: '3332', name: 'Menzis' },
  { uzovi: '3358', name: 'DSW' },
  { uzovi: '3343', name: 'ONVZ' },
  { uzovi: '3360', name: 'Zorg en Zekerheid' },
  { uzovi: '3329', name: 'Eno' },
  { uzovi: '3341', name: 'a.s.r.' },
  { uzovi: '3347', name: 'Caresq' },
];

/** Who the loader records as the submitter of the generated waiting times. */
export const DEMO_REGISTRY_SUBMITTER = 'demo-registry';

// ---------------------------------------------------------------------------------------------
// Geography: per region a relative size (roughly its population) and a few real municipalities
// with the 4-digit postcode ranges they use (approximate, good enough to look right).

interface Place {
  municipality: string;
  from: number;
  to: number;
}

const GEOGRAPHY: Record<RegionCode, { weight: number; places: Place[] }> = {
  groningen: {
    weight: 59,
    places: [p('Groningen', 9711, 9747), p('Midden-Groningen', 9600, 9611), p('Oldambt', 9670, 9675), p('Veendam', 9640, 9648), p('Stadskanaal', 9500, 9503)],
  },
  friesland: {
    weight: 65,
    places: [p('Leeuwarden', 8911, 8939), p('Súdwest-Fryslân', 8600, 8608), p('Heerenveen', 8440, 8449), p('Smallingerland', 9200, 9207), p('Harlingen', 8860, 8864)],
  },
  drenthe: { weight: 49, places: [p('Assen', 9400, 9409), p('Emmen', 7811, 7826), p('Hoogeveen', 7900, 7909), p('Meppel', 7940, 7944)] },
  zwolle: { weight: 53, places: [p('Zwolle', 8011, 8048), p('Kampen', 8260, 8266), p('Steenwijkerland', 8330, 8335), p('Hardenberg', 7771, 7773), p('Ommen', 7731, 7734)] },
  twente: { weight: 63, places: [p('Enschede', 7511, 7548), p('Hengelo', 7550, 7559), p('Almelo', 7600, 7609), p('Oldenzaal', 7570, 7577)] },
  'apeldoorn-zutphen': {
    weight: 75,
    places: [p('Apeldoorn', 7311, 7339), p('Zutphen', 7201, 7207), p('Lochem', 7241, 7245), p('Doetinchem', 7001, 7009), p('Winterswijk', 7101, 7109)],
  },
  arnhem: { weight: 80, places: [p('Arnhem', 6811, 6846), p('Ede', 6710, 6718), p('Wageningen', 6701, 6709), p('Zevenaar', 6901, 6905), p('Rheden', 6881, 6883)] },
  nijmegen: { weight: 75, places: [p('Nijmegen', 6511, 6546), p('Wijchen', 6601, 6604), p('Tiel', 4001, 4007), p('Culemborg', 4101, 4105)] },
  'midden-ijssel': { weight: 22, places: [p('Deventer', 7411, 7439), p('Olst-Wijhe', 8121, 8129), p('Raalte', 8101, 8105), p('Rijssen-Holten', 7461, 7463)] },
  flevoland: { weight: 44, places: [p('Almere', 1311, 1363), p('Lelystad', 8211, 8245), p('Noordoostpolder', 8300, 8309), p('Dronten', 8251, 8253)] },
  utrecht: { weight: 130, places: [p('Utrecht', 3511, 3585), p('Amersfoort', 3811, 3829), p('Zeist', 3701, 3709), p('Nieuwegein', 3431, 3439), p('Veenendaal', 3901, 3907)] },
  't-gooi': { weight: 26, places: [p('Hilversum', 1211, 1223), p('Huizen', 1271, 1277), p('Gooise Meren', 1401, 1406), p('Laren', 1251, 1252)] },
  'noord-holland-noord': {
    weight: 67,
    places: [p('Alkmaar', 1811, 1834), p('Den Helder', 1781, 1789), p('Hoorn', 1621, 1628), p('Dijk en Waard', 1701, 1706), p('Enkhuizen', 1601, 1602)],
  },
  kennemerland: { weight: 55, places: [p('Haarlem', 2011, 2037), p('Heemstede', 2101, 2106), p('Velsen', 1971, 1991), p('Beverwijk', 1941, 1948)] },
  'zaanstreek-waterland': { weight: 35, places: [p('Zaanstad', 1501, 1509), p('Purmerend', 1441, 1448), p('Edam-Volendam', 1135, 1137), p('Waterland', 1141, 1145)] },
  amsterdam: { weight: 100, places: [p('Amsterdam', 1011, 1109), p('Diemen', 1111, 1113), p('Ouder-Amstel', 1191, 1192), p('Landsmeer', 1121, 1122)] },
  'amstelland-meerlanden': { weight: 35, places: [p('Amstelveen', 1181, 1189), p('Haarlemmermeer', 2131, 2136), p('Aalsmeer', 1431, 1433), p('Uithoorn', 1421, 1424)] },
  'zuid-holland-noord': {
    weight: 56,
    places: [p('Leiden', 2311, 2334), p('Alphen aan den Rijn', 2401, 2409), p('Katwijk', 2221, 2225), p('Leiderdorp', 2351, 2353), p('Noordwijk', 2201, 2204)],
  },
  haaglanden: {
    weight: 110,
    places: [p('Den Haag', 2511, 2597), p('Zoetermeer', 2711, 2729), p('Leidschendam-Voorburg', 2261, 2275), p('Rijswijk', 2281, 2289), p('Wassenaar', 2241, 2245)],
  },
  'delft-westland-oostland': { weight: 37, places: [p('Delft', 2611, 2629), p('Westland', 2671, 2695), p('Pijnacker-Nootdorp', 2641, 2647), p('Lansingerland', 2651, 2665)] },
  'midden-holland': { weight: 30, places: [p('Gouda', 2801, 2809), p('Waddinxveen', 2741, 2745), p('Bodegraven-Reeuwijk', 2411, 2412), p('Zuidplas', 2911, 2914)] },
  rotterdam: {
    weight: 105,
    places: [p('Rotterdam', 3011, 3089), p('Schiedam', 3111, 3125), p('Capelle aan den IJssel', 2901, 2909), p('Vlaardingen', 3131, 3138), p('Maassluis', 3141, 3147)],
  },
  waardenland: {
    weight: 45,
    places: [p('Dordrecht', 3311, 3329), p('Gorinchem', 4201, 4208), p('Zwijndrecht', 3331, 3335), p('Papendrecht', 3351, 3356), p('Sliedrecht', 3361, 3364)],
  },
  'zuid-hollandse-eilanden': {
    weight: 30,
    places: [p('Nissewaard', 3200, 3209), p('Voorne aan Zee', 3221, 3233), p('Hoeksche Waard', 3261, 3263), p('Goeree-Overflakkee', 3241, 3253)],
  },
  zeeland: {
    weight: 39,
    places: [p('Middelburg', 4331, 4338), p('Vlissingen', 4381, 4389), p('Goes', 4461, 4465), p('Terneuzen', 4531, 4538), p('Schouwen-Duiveland', 4301, 4303)],
  },
  'west-brabant': {
    weight: 72,
    places: [p('Breda', 4811, 4839), p('Roosendaal', 4701, 4709), p('Bergen op Zoom', 4611, 4625), p('Etten-Leur', 4871, 4876), p('Oosterhout', 4901, 4909)],
  },
  'midden-brabant': { weight: 47, places: [p('Tilburg', 5011, 5049), p('Waalwijk', 5141, 5146), p('Dongen', 5101, 5107), p('Oisterwijk', 5061, 5062)] },
  'noordoost-brabant': {
    weight: 67,
    places: [p("'s-Hertogenbosch", 5211, 5249), p('Oss', 5341, 5353), p('Maashorst', 5401, 5406), p('Land van Cuijk', 5831, 5835), p('Meierijstad', 5461, 5467)],
  },
  'zuidoost-brabant': {
    weight: 77,
    places: [p('Eindhoven', 5611, 5658), p('Helmond', 5701, 5709), p('Veldhoven', 5501, 5509), p('Valkenswaard', 5551, 5556), p('Geldrop-Mierlo', 5661, 5667)],
  },
  'noord-midden-limburg': {
    weight: 52,
    places: [p('Venlo', 5911, 5928), p('Roermond', 6041, 6046), p('Venray', 5801, 5804), p('Weert', 6001, 6006), p('Echt-Susteren', 6101, 6102)],
  },
  'zuid-limburg': { weight: 60, places: [p('Maastricht', 6211, 6229), p('Heerlen', 6411, 6422), p('Sittard-Geleen', 6131, 6167), p('Kerkrade', 6461, 6471)] },
};

function p(municipality: string, from: number, to: number): Place {
  return { municipality, from, to };
}

// ---------------------------------------------------------------------------------------------
// Care: how common each diagnosis group is among providers, and how much longer than average
// its waits tend to be.

const GROUP_PROFILE: Record<DiagnosisGroup, { prevalence: number; waitFactor: number }> = {
  'basis-ggz': { prevalence: 0.95, waitFactor: 0.7 },
  depressie: { prevalence: 0.9, waitFactor: 1.0 },
  angst: { prevalence: 0.9, waitFactor: 0.95 },
  trauma: { prevalence: 0.65, waitFactor: 1.25 },
  persoonlijkheid: { prevalence: 0.45, waitFactor: 1.35 },
  'andere-problemen': { prevalence: 0.45, waitFactor: 0.9 },
  'neurobiologische-ontwikkelingsstoornissen': { prevalence: 0.45, waitFactor: 1.4 },
  'obsessief-compulsief': { prevalence: 0.35, waitFactor: 1.1 },
  'diagnose-onbekend': { prevalence: 0.35, waitFactor: 0.9 },
  restgroep: { prevalence: 0.3, waitFactor: 0.9 },
  'somatische-symptoomstoornissen': { prevalence: 0.25, waitFactor: 1.15 },
  'middelgerelateerd-en-verslaving': { prevalence: 0.2, waitFactor: 0.85 },
  bipolair: { prevalence: 0.18, waitFactor: 1.1 },
  schizofrenie: { prevalence: 0.14, waitFactor: 1.0 },
  'neurocognitieve-stoornissen': { prevalence: 0.1, waitFactor: 1.0 },
  eetstoornissen: { prevalence: 0.06, waitFactor: 1.6 },
};

// ---------------------------------------------------------------------------------------------
// Names.

/** Adjectives, bare and inflected: "het" nouns take the bare form (Noordelijk Veld), "de" nouns the other (Brede Delta). */
const ADJECTIVES: [string, string][] = [
  ['Noordelijk', 'Noordelijke'],
  ['Zuidelijk', 'Zuidelijke'],
  ['Oostelijk', 'Oostelijke'],
  ['Westelijk', 'Westelijke'],
  ['Groen', 'Groene'],
  ['Helder', 'Heldere'],
  ['Open', 'Open'],
  ['Breed', 'Brede'],
  ['Stil', 'Stille'],
  ['Licht', 'Lichte'],
  ['Vrij', 'Vrije'],
  ['Nieuw', 'Nieuwe'],
];
const NOUNS: [string, 'de' | 'het'][] = [
  ['Veld', 'het'],
  ['Land', 'het'],
  ['Dal', 'het'],
  ['Baken', 'het'],
  ['Kompas', 'het'],
  ['Anker', 'het'],
  ['Erf', 'het'],
  ['Kust', 'de'],
  ['Poort', 'de'],
  ['Horizon', 'de'],
  ['Brug', 'de'],
  ['Haven', 'de'],
  ['Delta', 'de'],
  ['Duin', 'de'],
  ['Waard', 'de'],
];
const TREES = ['Linde', 'Eik', 'Beuk', 'Wilg', 'Es', 'Berk', 'Hazelaar', 'Kastanje', 'Populier', 'Els', 'Iep', 'Esdoorn', 'Meidoorn', 'Vlier', 'Hulst'];
const SURNAMES = [
  'De Vries',
  'Jansen',
  'Bakker',
  'Visser',
  'Smit',
  'Meijer',
  'De Boer',
  'Mulder',
  'De Groot',
  'Bos',
  'Vos',
  'Peters',
  'Hendriks',
  'Van Dijk',
  'Dekker',
  'Brouwer',
  'De Wit',
  'Dijkstra',
  'Smits',
  'De Graaf',
  'Van der Meer',
  'Kok',
  'Jacobs',
  'De Haan',
  'Vermeulen',
  'Van den Berg',
  'Van der Linden',
  'Hoekstra',
  'Kuipers',
  'Postma',
  'Van Leeuwen',
  'Willems',
  'Schouten',
  'Koster',
];
const QUALITIES = ['Evenwicht', 'Veerkracht', 'Koers', 'Ruimte', 'Houvast', 'Balans', 'Perspectief', 'Inzicht', 'Samen', 'Verbinding'];
const INSTITUTION_TYPES = ['GGZ', 'Psychiatrisch Centrum', 'Centrum voor Psychotherapie', 'Stichting GGZ'];
const PRACTICE_TYPES = ['Praktijk', 'Psychologenpraktijk', 'Psychotherapiepraktijk', 'Praktijk voor Psychologie'];
/** [number of locations, relative frequency]. */
const INSTITUTION_LOCATIONS: [number, number][] = [
  [2, 15],
  [3, 35],
  [4, 50],
];
const PRACTICE_LOCATIONS: [number, number][] = [
  [1, 30],
  [2, 40],
  [3, 20],
  [4, 10],
];
const DISTRICTS = ['Centrum', 'Noord', 'Zuid', 'Oost', 'West'];

// ---------------------------------------------------------------------------------------------
// Randomness: SeededRandom of the core (mulberry32), so the same seed gives the same data everywhere.

// ---------------------------------------------------------------------------------------------
// Dates.

function monthIndex(isoDate: string): number {
  return Number(isoDate.slice(0, 4)) * 12 + Number(isoDate.slice(5, 7)) - 1;
}

function monthString(index: number): string {
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

const round1 = (w: number) => Math.round(w * 10) / 10;
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

// ---------------------------------------------------------------------------------------------

const REGION_CODES: RegionCode[] = WAITING_LIST_REGIONS.map((r) => r.code);

export function generateDemoRegistry(options: DemoRegistryOptions): DemoRegistry {
  const { today, providers: count = 400, seed = 1 } = options;
  if (!isIsoDate(today)) throw new Error(`generateDemoRegistry needs today as YYYY-MM-DD, got ${JSON.stringify(today)}`);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new Error(`providers must be an integer 1–100000, got ${count}`);
  if (!Number.isFinite(seed)) throw new Error(`seed must be a number, got ${seed}`);

  // Separate streams, so that e.g. changing a word list does not reshuffle the waiting times.
  const structure = new SeededRandom(seed);
  const figures = new SeededRandom(seed * 7919 + 17);
  const thisMonth = monthIndex(today);
  const thisYear = Number(today.slice(0, 4));

  const out: DemoRegistry = { providers: [], locations: [], contracts: [], waits: [] };
  const usedAgbs = new Set<string>();
  const usedNames = new Set<string>();
  const usedPostcodes = new Set<string>();

  const homes = homeRegions(structure, count);

  for (let i = 0; i < count; i++) {
    const home = homes[i];
    // About a third are institutions (AGB 73…), the rest practices (AGB 94…).
    const institution = structure.chance(0.35);
    const agb = uniqueAgb(structure, institution ? '73' : '94', usedAgbs);
    const homePlace = structure.pick(GEOGRAPHY[home].places);
    const name = uniqueName(structure, institution, homePlace.municipality, usedNames);
    out.providers.push({ agb, name });

    // What the provider treats: 3–12 groups, the common ones more likely.
    const groupCount = institution ? structure.int(6, 12) : structure.int(3, 8);
    const groups = weightedSample(structure, DIAGNOSIS_GROUP_CODES, (g) => GROUP_PROFILE[g].prevalence, groupCount);

    // 1–4 locations: the first at home, more mostly in the same region, institutions reach wider.
    const [locationCount] = structure.weighted(institution ? INSTITUTION_LOCATIONS : PRACTICE_LOCATIONS, ([, w]) => w);
    const seenPlaces = new Set<string>();
    for (let l = 0; l < locationCount; l++) {
      let region = home;
      let place = homePlace;
      if (l > 0) {
        if (structure.chance(institution ? 0.3 : 0.1)) region = neighbour(structure, home);
        place = structure.pick(GEOGRAPHY[region].places);
      }
      const postcode = uniquePostcode(structure, place, usedPostcodes);
      const locationName = seenPlaces.has(place.municipality)
        ? `${name}, locatie ${place.municipality} ${DISTRICTS[l % DISTRICTS.length]}`
        : `${name}, locatie ${place.municipality}`;
      seenPlaces.add(place.municipality);
      // The first location treats everything; others a part (at least 3, or all when fewer).
      let treats = groups;
      if (l > 0) {
        treats = groups.filter(() => structure.chance(0.75));
        for (const g of groups) if (treats.length < Math.min(3, groups.length) && !treats.includes(g)) treats.push(g);
        treats = DIAGNOSIS_GROUP_CODES.filter((g) => treats.includes(g));
      }
      out.locations.push({
        agb,
        code: `V${String(l + 1).padStart(2, '0')}`,
        name: locationName,
        postcode,
        municipality: place.municipality,
        region,
        diagnosisGroups: treats,
      });
    }

    // Contracts: most providers with most insurers; some (often small practices) with few or none.
    const contractRate = structure.chance(institution ? 0.03 : 0.12) ? 0.1 : institution ? 0.95 : 0.82;
    for (const ins of DEMO_INSURERS) {
      const contracted = structure.chance(contractRate);
      const since = thisYear - structure.int(0, 4);
      const kind = structure.next();
      if (!contracted) continue;
      if (kind < 0.85) out.contracts.push({ uzovi: ins.uzovi, agb, validFrom: `${since}-01-01`, validUntil: null });
      // A yearly contract that runs until next year.
      else if (kind < 0.95) out.contracts.push({ uzovi: ins.uzovi, agb, validFrom: `${thisYear}-01-01`, validUntil: `${thisYear + 1}-01-01` });
      // One that has ended: the provider is no longer contracted by this insurer.
      else out.contracts.push({ uzovi: ins.uzovi, agb, validFrom: `${thisYear - 2}-01-01`, validUntil: `${thisYear}-01-01` });
    }
  }

  // Waiting times, on a stream of their own. Per provider: does it report, how recent, how busy.
  const locationsOf = new Map<string, DemoLocation[]>();
  for (const loc of out.locations) locationsOf.set(loc.agb, [...(locationsOf.get(loc.agb) ?? []), loc]);
  // Exact shares rather than dice: 5% deliver nothing at all, 7% only stale figures (3–8 months old).
  const rank = figures.shuffle(out.providers.map((_, i) => i));
  const silent = Math.round(count * 0.05);
  const stale = Math.round(count * 0.07);
  const standing = new Array<number>(count);
  rank.forEach((providerIndex, r) => (standing[providerIndex] = r));
  out.providers.forEach((provider, i) => {
    const ageRoll = figures.next();
    const staleAge = figures.int(3, 8);
    const busy = figures.logNormal(0.45) * (figures.chance(0.18) ? 1.9 : 1);
    // Drawn for every provider, reporting or not, so that the stream does not depend on the data.
    if (standing[i] < silent) return;
    // The rest reported this month or last, a few the month before.
    const age = standing[i] < silent + stale ? staleAge : ageRoll < 0.5 ? 0 : ageRoll < 0.92 ? 1 : 2;
    const latest = thisMonth - age;
    for (const loc of locationsOf.get(provider.agb) ?? []) {
      const locFactor = figures.logNormal(0.2);
      for (const g of loc.diagnosisGroups) {
        const skip = figures.chance(0.07);
        const history = figures.chance(0.5);
        const f = busy * locFactor * GROUP_PROFILE[g].waitFactor;
        const aanmeld = 2.4 * f * figures.logNormal(0.35);
        const behandel = 5.5 * f * figures.logNormal(0.4);
        const drift = figures.logNormal(0.15);
        // Not every location reports every group it treats.
        if (skip) continue;
        if (history) out.waits.push(wait(provider.agb, loc.code, g, latest - 1, aanmeld * drift, behandel * drift));
        out.waits.push(wait(provider.agb, loc.code, g, latest, aanmeld, behandel));
      }
    }
  });
  return out;
}

/**
 * Each provider's home region: every region once (when there are 31 providers or more), the rest
 * shared out by region size (largest remainder, so big regions reliably get more), in random order.
 */
function homeRegions(rng: SeededRandom, count: number): RegionCode[] {
  const homes: RegionCode[] = rng.shuffle([...REGION_CODES]).slice(0, Math.min(count, REGION_CODES.length));
  const extra = count - homes.length;
  const total = REGION_CODES.reduce((s, r) => s + GEOGRAPHY[r].weight, 0);
  const quotas = REGION_CODES.map((r, i) => ({ r, i, q: (extra * GEOGRAPHY[r].weight) / total }));
  let left = extra;
  for (const { r, q } of quotas) {
    for (let k = 0; k < Math.floor(q); k++) homes.push(r);
    left -= Math.floor(q);
  }
  const byRemainder = [...quotas].sort((a, b) => b.q - Math.floor(b.q) - (a.q - Math.floor(a.q)) || a.i - b.i);
  for (let k = 0; k < left; k++) homes.push(byRemainder[k].r);
  return rng.shuffle(homes);
}

function wait(agb: string, locationCode: string, diagnosisGroup: DiagnosisGroup, month: number, aanmeld: number, behandel: number): DemoWait {
  return {
    agb,
    locationCode,
    diagnosisGroup,
    month: monthString(month),
    aanmeldWeeks: round1(clamp(aanmeld, 1, 20)),
    behandelWeeks: round1(clamp(behandel, 1, 30)),
  };
}

function uniqueAgb(rng: SeededRandom, prefix: string, used: Set<string>): string {
  for (;;) {
    const agb = prefix + String(rng.int(0, 999_999)).padStart(6, '0');
    if (!used.has(agb)) {
      used.add(agb);
      return agb;
    }
  }
}

function uniqueName(rng: SeededRandom, institution: boolean, municipality: string, used: Set<string>): string {
  let base: string;
  if (institution) {
    const style = rng.int(0, 3);
    const [noun, article] = rng.pick(NOUNS);
    const [bare, inflected] = rng.pick(ADJECTIVES);
    const kind = rng.pick(INSTITUTION_TYPES);
    if (style === 0) base = `GGZ ${article === 'de' ? inflected : bare} ${noun}`;
    else if (style === 1) base = `${kind} ${municipality}`;
    else if (style === 2) base = `${article === 'de' ? 'De' : 'Het'} ${noun} GGZ`;
    else base = `${kind} ${rng.pick(QUALITIES)}`;
  } else {
    const style = rng.int(0, 4);
    const kind = rng.pick(PRACTICE_TYPES);
    const tree = rng.pick(TREES);
    const surname = rng.pick(SURNAMES);
    const partner = rng.pick(SURNAMES);
    const quality = rng.pick(QUALITIES);
    if (style === 0) base = `Praktijk De ${tree}`;
    else if (style === 1) base = `${kind} ${surname}`;
    else if (style === 2) base = partner === surname ? `${kind} ${surname}` : `${surname} & ${partner} Psychologen`;
    else if (style === 3) base = `Praktijk ${quality}`;
    else base = `${kind} ${municipality}`;
  }
  let name = base;
  if (used.has(name) && !name.endsWith(municipality)) name = `${base} ${municipality}`;
  for (let n = 2; used.has(name); n++) name = `${base} ${municipality} ${n}`;
  used.add(name);
  return name;
}

function uniquePostcode(rng: SeededRandom, place: Place, used: Set<string>): string {
  for (;;) {
    const letters = String.fromCharCode(65 + rng.int(0, 25), 65 + rng.int(0, 25));
    // SA, SD and SS are not used in Dutch postcodes.
    if (letters === 'SA' || letters === 'SD' || letters === 'SS') continue;
    const postcode = `${rng.int(place.from, place.to)}${letters}`;
    if (!used.has(postcode)) {
      used.add(postcode);
      return postcode;
    }
  }
}

/** A region near `home`: the region list runs roughly north to south, so neighbours in it are near. */
function neighbour(rng: SeededRandom, home: RegionCode): RegionCode {
  const i = REGION_CODES.indexOf(home);
  const j = clamp(i + rng.pick([-2, -1, 1, 2]), 0, REGION_CODES.length - 1);
  return REGION_CODES[j === i ? (i === 0 ? 1 : i - 1) : j];
}

/** k distinct items, drawn with probability proportional to weight; returned in the list's order. */
function weightedSample<T>(rng: SeededRandom, xs: readonly T[], weight: (x: T) => number, k: number): T[] {
  const chosen = new Set<T>();
  while (chosen.size < Math.min(k, xs.length)) {
    chosen.add(
      rng.weighted(
        xs.filter((x) => !chosen.has(x)),
        weight,
      ),
    );
  }
  return xs.filter((x) => chosen.has(x));
}

// ---------------------------------------------------------------------------------------------
// Loading.

/** A DataSource, EntityManager or QueryRunner: anything that runs parameterised SQL. */
export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

export interface DemoRegistryLoadResult {
  providers: number;
  locations: number;
  contracts: number;
  waits: number;
  /** Providers skipped because they were already present (with all that hangs off them). */
  skippedProviders: number;
}

/**
 * Inserts the registry in one statement (atomic; parents and children connected through
 * RETURNING). Providers that already exist are skipped, and so are their locations, contracts and
 * waiting times: running it twice changes nothing, and a half-loaded provider cannot arise.
 */
export async function loadDemoRegistry(db: SqlRunner, data: DemoRegistry): Promise<DemoRegistryLoadResult> {
  const rows = (await db.query(
    `WITH new_provider AS (
       INSERT INTO "provider" ("agb", "name")
       SELECT p.agb, p.name FROM unnest($1::text[], $2::text[]) AS p(agb, name)
       ON CONFLICT ("agb") DO NOTHING
       RETURNING "agb"
     ),
     new_location AS (
       INSERT INTO "provider_location" ("agb", "code", "name", "postcode", "municipality", "region", "diagnosis_groups")
       SELECT l.agb, l.code, l.name, l.postcode, l.municipality, l.region, l."diagnosisGroups"
       FROM jsonb_to_recordset($3::jsonb) AS l(agb text, code text, name text, postcode text, municipality text, region text, "diagnosisGroups" text[])
       WHERE l.agb IN (SELECT "agb" FROM new_provider)
       ON CONFLICT ("agb", "code") DO NOTHING
       RETURNING "id", "agb", "code"
     ),
     new_contract AS (
       INSERT INTO "insurer_contract" ("uzovi", "agb", "valid_from", "valid_until")
       SELECT c.uzovi, c.agb, c."validFrom", c."validUntil"
       FROM jsonb_to_recordset($4::jsonb) AS c(uzovi text, agb text, "validFrom" date, "validUntil" date)
       WHERE c.agb IN (SELECT "agb" FROM new_provider)
       RETURNING 1
     ),
     new_wait AS (
       INSERT INTO "wait_time" ("location_id", "diagnosis_group", "month", "aanmeld_weeks", "behandel_weeks", "submitted_by")
       SELECT nl."id", w."diagnosisGroup", (w.month || '-01')::date, w."aanmeldWeeks", w."behandelWeeks", $6
       FROM jsonb_to_recordset($5::jsonb) AS w(agb text, "locationCode" text, "diagnosisGroup" text, month text, "aanmeldWeeks" numeric, "behandelWeeks" numeric)
       JOIN new_location nl ON nl."agb" = w.agb AND nl."code" = w."locationCode"
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM new_provider) AS providers,
            (SELECT count(*) FROM new_location) AS locations,
            (SELECT count(*) FROM new_contract) AS contracts,
            (SELECT count(*) FROM new_wait) AS waits`,
    [
      data.providers.map((p) => p.agb),
      data.providers.map((p) => p.name),
      JSON.stringify(data.locations),
      JSON.stringify(data.contracts),
      JSON.stringify(data.waits),
      DEMO_REGISTRY_SUBMITTER,
    ],
  )) as { providers: string; locations: string; contracts: string; waits: string }[];
  const r = rows[0];
  const providers = Number(r.providers);
  return {
    providers,
    locations: Number(r.locations),
    contracts: Number(r.contracts),
    waits: Number(r.waits),
    skippedProviders: new Set(data.providers.map((p) => p.agb)).size - providers,
  };
}
