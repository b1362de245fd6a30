import { hashPassword, Rng, seedOf } from '../platform/index.ts';
import type { OrgUnitRow, StaffRow, TeamRow } from '../org/index.ts';
import type { ConcentratorRow, MeterRow, TransformerAreaRow } from '../assets/index.ts';
import type { ChannelAgreementRow, ContactRow, CustomerRow, ServicePointRow } from '../customers/index.ts';
import { BUSINESSES, COMMUNITIES, GIVEN, LIAONING, SURNAMES } from './liaoning.ts';

/** Households per grid unit, per transformer area, and transformer areas per collection team. */
export const GRID_HOUSEHOLDS = 3000;
export const AREA_HOUSEHOLDS = 300;
export const AREAS_PER_TEAM = 20;
/** Mobile prefix the demo SMSC treats as unassigned numbers; emails at this domain bounce. */
export const UNREACHABLE_MOBILE_PREFIX = '144';
export const BOUNCING_EMAIL_DOMAIN = 'invalid.example';
export const DEMO_PASSWORD = 'demo';

export interface ProvinceOptions {
  customers: number;
  seed: number;
  /** Date the synthetic customers and installations are dated from. */
  since: string;
}

interface AreaPlan {
  area: TransformerAreaRow;
  concentrator: ConcentratorRow;
  firstCustomer: number;
  households: number;
  gridPath: string;
  cityName: string;
  countyName: string;
}

export interface ProvincePlan {
  orgUnits: OrgUnitRow[];
  teams: TeamRow[];
  staff: StaffRow[];
  areas: AreaPlan[];
}

/** Split n into parts proportional to weights, each at least `min`, summing to n exactly. */
function apportion(n: number, weights: number[], min = 0): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const raw = weights.map((w) => Math.max(min, Math.floor((n * w) / total)));
  let rest = n - raw.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % raw.length, rest--) raw[i]!++;
  for (let i = raw.length - 1; rest < 0; i = (i - 1 + raw.length) % raw.length) if (raw[i]! > min) raw[i]!--, rest++;
  return raw;
}

/** The org tree, teams, staff and transformer areas for N customers (small; the big tables stream). */
export function planProvince(opts: ProvinceOptions): ProvincePlan {
  const rng = new Rng(seedOf('plan', opts.seed));
  const pwd = hashPassword(DEMO_PASSWORD, 'zerotouch-demo');
  const orgUnits: OrgUnitRow[] = [];
  const teams: TeamRow[] = [];
  const staff: StaffRow[] = [];
  const areas: AreaPlan[] = [];
  let orgId = 0;
  const addOrg = (code: string, name: string, nameEn: string, level: OrgUnitRow['level'], parent: OrgUnitRow | null) => {
    const o: OrgUnitRow = { id: ++orgId, code, name, name_en: nameEn, level, parent_id: parent?.id ?? null, path: `${parent?.path ?? '/'}${code}/` };
    orgUnits.push(o);
    return o;
  };
  const addStaff = (code: string, role: string, org: OrgUnitRow, teamId: number | null = null) => {
    const name = rng.pick(SURNAMES) + rng.pick(GIVEN) + (rng.chance(0.5) ? rng.pick(GIVEN) : '');
    staff.push({ id: staff.length + 1, code, name, role, org_id: org.id, team_id: teamId, mobile: `139${String(10_000_000 + staff.length).slice(-8)}`, password_hash: pwd, active: true });
  };

  const hq = addOrg('SGCC', '国家电网公司', 'State Grid HQ', 'hq', null);
  const prov = addOrg('LN', '国网辽宁省电力有限公司', 'State Grid Liaoning', 'province', hq);
  addStaff('admin', 'admin', hq);
  addStaff('analyst', 'province_analyst', prov);

  const gridCount = Math.max(LIAONING.length, Math.ceil(opts.customers / GRID_HOUSEHOLDS));
  const gridsPerCity = apportion(gridCount, LIAONING.map((c) => c.weight), 1);
  const householdsPerGrid = apportion(opts.customers, new Array(gridCount).fill(1));
  let gridIndex = 0;
  let customerIndex = 0;
  let areaId = 0;
  let teamId = 0;

  LIAONING.forEach((city, ci) => {
    const cityCode = `LN${String(ci + 1).padStart(2, '0')}`;
    const cityOrg = addOrg(cityCode, `国网${city.name}供电公司`, `${city.nameEn} Power Supply`, 'city', prov);
    addStaff(`clerk.${cityCode}`, 'city_billing_clerk', cityOrg);
    const grids = gridsPerCity[ci]!;
    // Deal the city's grids over its counties in turn; a county without customers is not created.
    const perCounty = city.counties.map((_, k) => Math.floor(grids / city.counties.length) + (k < grids % city.counties.length ? 1 : 0));
    city.counties.forEach(([countyName, countyEn], k) => {
      const nGrids = perCounty[k]!;
      if (nGrids === 0) return;
      const countyCode = `${cityCode}${String(k + 1).padStart(2, '0')}`;
      const county = addOrg(countyCode, `${city.name}${countyName}供电分公司`, `${countyEn} County Supply`, 'county', cityOrg);
      addStaff(`agent.${countyCode}`, 'service_agent', county);
      const countyAreas: TransformerAreaRow[] = [];
      let station: OrgUnitRow | null = null;
      for (let g = 0; g < nGrids; g++) {
        if (g % 4 === 0) station = addOrg(`${countyCode}S${String(g / 4 + 1).padStart(2, '0')}`, `${countyName}第${g / 4 + 1}供电所`, `${countyEn} Station ${g / 4 + 1}`, 'station', county);
        const community = COMMUNITIES[(gridIndex + g) % COMMUNITIES.length]!;
        const grid = addOrg(`${station!.code}G${String((g % 4) + 1).padStart(2, '0')}`, `${community}社区网格`, `${community} grid`, 'grid', station);
        addStaff(`gm.${grid.code}`, 'grid_manager', grid);
        const households = householdsPerGrid[gridIndex++]!;
        const nAreas = Math.max(1, Math.ceil(households / AREA_HOUSEHOLDS));
        const perArea = apportion(households, new Array(nAreas).fill(1));
        perArea.forEach((h, a) => {
          const id = ++areaId;
          const area: TransformerAreaRow = { id, code: `TA${String(id).padStart(7, '0')}`, name: `${community}${a + 1}号台区`, grid_id: grid.id, team_id: 0, capacity_kva: rng.pick([200, 315, 400, 500, 630]) };
          countyAreas.push(area);
          areas.push({
            area, households: h, firstCustomer: customerIndex, gridPath: grid.path, cityName: city.name, countyName,
            concentrator: { id, asset_no: `JZQ${String(id).padStart(10, '0')}`, area_code: `21${String(ci + 1).padStart(2, '0')}`, terminal_address: 0, transformer_area_id: id },
          });
          customerIndex += h;
        });
      }
      // one collection-operations team per ~20 areas of the county, with two members each
      for (let t = 0; t * AREAS_PER_TEAM < countyAreas.length; t++) {
        const team: TeamRow = { id: ++teamId, code: `${countyCode}T${String(t + 1).padStart(2, '0')}`, name: `${countyName}采集运维${t + 1}班`, kind: 'collection_ops', org_id: county.id };
        teams.push(team);
        for (const area of countyAreas.slice(t * AREAS_PER_TEAM, (t + 1) * AREAS_PER_TEAM)) area.team_id = team.id;
        addStaff(`team.${team.code}.1`, 'collection_team', county, team.id);
        addStaff(`team.${team.code}.2`, 'collection_team', county, team.id);
      }
    });
  });
  // terminal addresses are unique within an area code (city)
  const nextTerminal = new Map<string, number>();
  for (const a of areas) {
    const n = (nextTerminal.get(a.concentrator.area_code) ?? 0) + 1;
    nextTerminal.set(a.concentrator.area_code, n);
    a.concentrator.terminal_address = n;
  }
  return { orgUnits, teams, staff, areas };
}

export interface CustomerBundle {
  customer: CustomerRow;
  meter: MeterRow;
  servicePoint: ServicePointRow;
  contacts: ContactRow[];
  agreements: ChannelAgreementRow[];
}

export const customerNumberOf = (i: number) => String(2100000001 + i);
export const meterAddressOf = (i: number) => String(i + 1).padStart(12, '0');

/** Everything about customer i, from its own seeded stream: the tables can be generated independently. */
export function customerBundle(opts: ProvinceOptions, a: AreaPlan, i: number, portalPasswordHash: string): CustomerBundle {
  const rng = new Rng(seedOf('customer', opts.seed, i));
  const id = i + 1;
  const r = rng.next();
  const category: CustomerRow['category'] = r < 0.92 ? 'residential' : r < 0.985 ? 'general' : r < 0.992 ? 'large_industry' : 'agriculture';
  const residential = category === 'residential';
  const tariff = residential ? (rng.chance(0.1) ? 'RES-TOU' : 'RES-TIER') : category === 'general' ? 'GEN-TOU' : category === 'large_industry' ? 'LI-2P' : 'AGR';
  const cycleDraw = rng.next();
  const cycle = !residential || cycleDraw < 0.7 ? 'C01' : cycleDraw < 0.85 ? 'C11' : 'C21';
  const person = rng.pick(SURNAMES) + rng.pick(GIVEN) + (rng.chance(0.6) ? rng.pick(GIVEN) : '');
  const community = COMMUNITIES[a.area.id % COMMUNITIES.length]!;
  const name = residential ? person : `${a.countyName.replace(/(区|县|市|满族自治县|蒙古族自治县)$/, '')}${person.slice(0, 2)}${rng.pick(BUSINESSES)}`;
  const address = residential
    ? `辽宁省${a.cityName}市${a.countyName}${community}小区${rng.int(1, 30)}号楼${rng.int(1, 6)}单元${rng.int(1, 18)}0${rng.int(1, 4)}室`
    : `辽宁省${a.cityName}市${a.countyName}${community}路${rng.int(1, 300)}号`;
  const pn = i - a.firstCustomer + 1;
  const meter: MeterRow = {
    id, asset_no: `3310${String(id).padStart(18, '0')}`, comm_address: meterAddressOf(i),
    meter_type: category === 'large_industry' ? 'three_phase_ct' : residential ? 'single_phase' : 'three_phase',
    cost_control: residential && rng.chance(0.3), state: 'installed', concentrator_id: a.concentrator.id, measuring_point: pn,
    manufactured_on: `20${rng.int(18, 24)}-0${rng.int(1, 9)}-1${rng.int(0, 9)}`,
  };
  const customer: CustomerRow = {
    id, number: customerNumberOf(i), name, kind: residential ? 'residential' : 'non_residential', category, tariff_code: tariff,
    billing_cycle: cycle, grid_id: a.area.grid_id, transformer_area_id: a.area.id, org_path: a.gridPath, address, status: 'active',
    contract_capacity_kva: category === 'large_industry' ? rng.pick([315, 500, 630, 800, 1000, 1250, 2000]) : category === 'general' ? rng.pick([10, 20, 50, 80]) : null,
    created_on: opts.since, portal_password_hash: portalPasswordHash,
  };
  const contacts: ContactRow[] = [];
  const agreements: ChannelAgreementRow[] = [];
  const consentedAt = new Date(`${opts.since}T09:00:00+08:00`);
  // ids are 4 per customer so each table can be generated without a shared counter
  const addContact = (kind: ContactRow['kind'], value: string) => {
    const c: ContactRow = { id: id * 4 - 3 + contacts.length, customer_id: id, kind, value, status: 'unverified' };
    contacts.push(c);
    return c;
  };
  const agree = (channel: ChannelAgreementRow['channel'], c: ContactRow) =>
    agreements.push({ customer_id: id, channel, contact_id: c.id, priority: agreements.length + 1, consented_at: consentedAt, withdrawn_at: null });
  const noChannels = rng.chance(0.03);
  if (rng.chance(0.95)) {
    const wrong = rng.chance(0.03);
    const mobile = addContact('mobile', `${wrong ? UNREACHABLE_MOBILE_PREFIX : rng.pick(['138', '139', '150', '186', '135', '158', '187', '131'])}${String(rng.int(0, 99_999_999)).padStart(8, '0')}`);
    if (!noChannels) {
      agree('sms', mobile);
      if (rng.chance(0.4)) agree('voice', mobile);
    }
  }
  if (rng.chance(0.25)) {
    const bad = rng.chance(0.05);
    const email = addContact('email', `u${id}@${bad ? BOUNCING_EMAIL_DOMAIN : rng.pick(['163.com', 'qq.com', '126.com', 'sina.com'])}`);
    if (!noChannels && rng.chance(0.8)) agree('email', email);
  }
  if (rng.chance(0.15)) {
    const catv = addContact('catv', `LNTV${String(id).padStart(10, '0')}`);
    if (!noChannels && rng.chance(0.7)) agree('catv', catv);
  }
  if (rng.chance(0.2)) addContact('landline', `024-${String(rng.int(20_000_000, 89_999_999))}`);
  const servicePoint: ServicePointRow = { id, customer_id: id, meter_id: id, installed_on: opts.since, removed_on: null };
  return { customer, meter, servicePoint, contacts, agreements };
}

/** Iterate every customer bundle in customer order. */
export function* allCustomers(opts: ProvinceOptions, plan: ProvincePlan): Generator<CustomerBundle> {
  const portal = hashPassword(DEMO_PASSWORD, 'zerotouch-portal');
  for (const a of plan.areas) for (let k = 0; k < a.households; k++) yield customerBundle(opts, a, a.firstCustomer + k, portal);
}
