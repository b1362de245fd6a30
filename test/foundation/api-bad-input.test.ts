import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, signInCustomer, testApp } from '../support/http.ts';

/** Bad input through the HTTP API: a 4xx with a stable code and nothing stored, never a 500. */
let ctx: TestContext;
let app: FastifyInstance;
let admin: { authorization: string };
let c: { number: string; comm_address: string; area: string };

beforeAll(async () => {
  ctx = await testContext({ customers: 300 });
  app = await testApp(ctx);
  admin = await signIn(app, 'admin');
  c = (await sql<{ number: string; comm_address: string; area: string }>`
    SELECT c.number, m.comm_address, ta.code AS area FROM customer c JOIN service_point sp ON sp.customer_id = c.id
    JOIN meter m ON m.id = sp.meter_id JOIN transformer_area ta ON ta.id = c.transformer_area_id ORDER BY c.number LIMIT 1`.execute(ctx.db)).rows[0]!;
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

function refused(res: LightMyRequestResponse, status: number, code: string) {
  expect({ status: res.statusCode, code: res.json().code }).toEqual({ status, code });
  expect(res.json().message).toEqual(expect.any(String));
}

const count = async (table: string) => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(ctx.db)).rows[0]!.n);
const csv = () => ({ ...admin, 'content-type': 'text/csv' });

describe('API answers to bad input', () => {
  it('malformed JSON, an unsupported content type and a badly encoded URL get REQUEST_* codes', async () => {
    const json = { ...admin, 'content-type': 'application/json' };
    refused(await app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, body: '{"username":' }), 400, 'REQUEST_BODY_MALFORMED');
    refused(await app.inject({ method: 'PUT', url: `/api/v1/customers/${c.number}/channels`, headers: json, body: '' }), 400, 'REQUEST_BODY_MALFORMED');
    refused(await app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'content-type': 'application/xml' }, body: '<a/>' }), 415, 'REQUEST_MEDIA_TYPE_UNSUPPORTED');
    const badUrl = await app.inject({ url: '/api/v1/customers/%E0%A4%A', headers: admin });
    refused(badUrl, 400, 'REQUEST_URL_INVALID');
    expect(Object.keys(badUrl.json()).sort()).toEqual(['code', 'message']);
    refused(await app.inject({ url: `/api/v1/meters/${'x'.repeat(500)}`, headers: admin }), 414, 'REQUEST_URL_TOO_LONG');
  });

  it('a NUL character in text is refused with REQUEST_VALUE_OUT_OF_RANGE, not a 500', async () => {
    refused(await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'a\u0000b', password: 'x' } }), 400, 'REQUEST_VALUE_OUT_OF_RANGE');
    refused(await app.inject({ url: '/api/v1/customers?name=a%00b', headers: admin }), 400, 'REQUEST_VALUE_OUT_OF_RANGE');
    const before = await count('payment');
    refused(await app.inject({
      method: 'POST', url: '/api/v1/payments', headers: admin,
      payload: { channel: 'service_hall', reference: 'R\u00001', customerNumber: c.number, amount: '10.00', currency: 'CNY' },
    }), 400, 'REQUEST_VALUE_OUT_OF_RANGE');
    expect(await count('payment')).toBe(before);
  });

  it('a number or a date beyond what the database holds is refused with 400, not a 500', async () => {
    refused(await app.inject({ url: '/api/v1/customers?offset=99999999999999999999', headers: admin }), 400, 'REQUEST_VALUE_OUT_OF_RANGE');
    refused(await app.inject({ url: '/api/v1/metering/unread?area=99999999999', headers: admin }), 400, 'REQUEST_VALUE_OUT_OF_RANGE');
    refused(await app.inject({ url: '/api/v1/billing/runs/1e30', headers: admin }), 400, 'REQUEST_VALUE_OUT_OF_RANGE');
    // year 0000 is no date (the database has none): refused as a bad date before any query
    refused(await app.inject({ url: '/api/v1/kpis?from=0000-01-01&to=0000-01-02', headers: admin }), 400, 'KPI_DATE_INVALID');
    refused(await app.inject({ url: `/api/v1/customers/${c.number}/statement?asOf=0000-01-01`, headers: admin }), 400, 'REQUEST_INVALID');
  });

  it('a NUL in one row of a readings batch quarantines that row and stores the good one', async () => {
    const res = await app.inject({
      method: 'POST', url: '/api/v1/readings', headers: admin,
      payload: [{ meter: `${c.comm_address}\u0000`, date: '2025-12-20', total: '1' }, { meter: c.comm_address, date: '2025-12-21', total: '99999' }, { meter: c.comm_address, date: '2025-12-22', total: '9\u00009' }],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ stored: 1, quarantined: 2, byReason: { unknown_meter: 1, not_numeric: 1 } });
  });

  it('a dunning run or a KPI computation for a day still to come is refused', async () => {
    refused(await app.inject({ method: 'POST', url: '/api/v1/dunning/runs', headers: admin, payload: { asOf: '2026-06-01' } }), 400, 'DUNNING_DATE_IN_FUTURE');
    const kpiRows = await count('kpi_daily');
    refused(await app.inject({ method: 'POST', url: '/api/v1/kpis/compute', headers: admin, payload: { day: '2026-06-01' } }), 400, 'KPI_DATE_IN_FUTURE');
    expect(await count('kpi_daily')).toBe(kpiRows);
  });

  it('a settlement file is named without a folder, dated no later than today and sent as text', async () => {
    const before = await count('reconciliation_run');
    const url = '/api/v1/payments/reconciliations?channel=bank_counter';
    const empty = 'reference,customer_number,amount\n';
    refused(await app.inject({ method: 'POST', url: `${url}&date=2025-12-01&fileName=..%2F..%2Fetc%2Fpasswd`, headers: csv(), body: empty }), 400, 'RECONCILIATION_FILE_NAME_INVALID');
    refused(await app.inject({ method: 'POST', url: `${url}&date=2099-01-01`, headers: csv(), body: empty }), 400, 'RECONCILIATION_DATE_IN_FUTURE');
    const nul = await app.inject({ method: 'POST', url: `${url}&date=2025-12-01`, headers: csv(), body: `${empty}A,${c.number},1.00\nB\u0000,${c.number},1.00\n` });
    refused(nul, 400, 'IMPORT_BODY_NOT_TEXT');
    expect(nul.json().message).toContain('line 3');
    expect(await count('reconciliation_run')).toBe(before);
    const ok = await app.inject({ method: 'POST', url: `${url}&date=2025-12-01&fileName=ICBC_20251201.csv`, headers: csv(), body: empty });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().run.fileName).toBe('ICBC_20251201.csv');
  });

  it('a payment import holding a NUL byte is refused with its line, nothing posted', async () => {
    const before = await count('payment');
    const res = await app.inject({
      method: 'POST', url: '/api/v1/payments/imports', headers: csv(),
      body: `channel,reference,customer_number,amount,currency,paid_on\nbank_counter,I1,${c.number},1.00,CNY,2025-12-01\nbank_counter,I\u00002,${c.number},1.00,CNY,2025-12-01\n`,
    });
    refused(res, 400, 'IMPORT_BODY_NOT_TEXT');
    expect(res.json().message).toContain('line 3');
    expect(await count('payment')).toBe(before);
  });

  it('an on-site reading older than the reading age limit is refused', async () => {
    refused(await app.inject({ method: 'POST', url: `/api/v1/meters/${c.comm_address}/manual-reading`, headers: admin, payload: { date: '1900-01-01', total: '1' } }), 400, 'READING_DATE_TOO_OLD');
    expect(Number((await sql<{ n: string }>`SELECT count(*) AS n FROM meter_reading WHERE reading_date < '2000-01-01'`.execute(ctx.db)).rows[0]!.n)).toBe(0);
  });

  it('a new-connection application with an unknown tariff or billing cycle is refused and nothing is stored', async () => {
    const before = await count('connection_application');
    const base = { type: 'residential', applicantName: '张三', address: '幸福小区1号楼', category: 'residential', tariffCode: 'RES-TIER', capacityKva: 8, transformerAreaCode: c.area };
    const post = (body: object) => app.inject({ method: 'POST', url: '/api/v1/connections', headers: admin, payload: { ...base, ...body } });
    refused(await post({ externalRef: 'YK-BAD-1', tariffCode: 'NOPE' }), 400, 'CONNECTION_TARIFF_UNKNOWN');
    refused(await post({ externalRef: 'YK-BAD-2', tariffCode: 'GEN-TOU' }), 400, 'CONNECTION_TARIFF_CATEGORY_MISMATCH');
    refused(await post({ externalRef: 'YK-BAD-3', billingCycle: 'NOPE' }), 400, 'CONNECTION_CYCLE_UNKNOWN');
    refused(await post({ externalRef: 'YK-BAD-4', capacityKva: 1e12 }), 400, 'REQUEST_INVALID');
    expect(await count('connection_application')).toBe(before);
    expect((await post({ externalRef: 'YK-OK-1' })).statusCode).toBe(201);
  });

  it('a calendar upload naming a day twice is refused and changes nothing', async () => {
    const put = (days: object[]) => app.inject({ method: 'PUT', url: '/api/v1/calendar', headers: admin, payload: { days } });
    refused(await put([{ day: '2026-02-01', working: true, name: '调休' }, { day: '2026-02-01', working: false, name: '春节' }]), 400, 'CALENDAR_DAY_DUPLICATE');
    refused(await put([{ day: '0000-02-01', working: true, name: 'x' }]), 400, 'CALENDAR_DAY_OUT_OF_RANGE');
    expect(Number((await sql<{ n: string }>`SELECT count(*) AS n FROM work_calendar WHERE day = '2026-02-01' AND name IN ('调休', '春节')`.execute(ctx.db)).rows[0]!.n)).toBe(0);
  });

  it('a meter manufactured after today is refused', async () => {
    refused(await app.inject({
      method: 'POST', url: '/api/v1/meters', headers: admin,
      payload: { assetNo: 'ZT20990001', commAddress: '888800000001', meterType: 'single_phase', manufacturedOn: '2099-01-01', place: '仓库' },
    }), 400, 'ASSET_MANUFACTURED_IN_FUTURE');
    expect((await app.inject({ url: '/api/v1/meters/ZT20990001', headers: admin })).statusCode).toBe(404);
  });

  it('a quote for a month the tariff has no prices for is refused, not answered 0.00', async () => {
    refused(await app.inject({ method: 'POST', url: '/api/v1/tariffs/RES-TIER/quote', headers: admin, payload: { kwh: '100', month: '2020-01' } }), 400, 'BILLING_TARIFF_NOT_EFFECTIVE');
    const zero = await app.inject({ method: 'POST', url: '/api/v1/tariffs/RES-TIER/quote', headers: admin, payload: { kwh: '0', month: '2026-01' } });
    expect(zero.json()).toMatchObject({ amount: '0.00' });
  });

  it('a channel contact longer than any address is refused and the channels stay as they were', async () => {
    const me = await signInCustomer(app, c.number);
    const before = (await app.inject({ url: `/api/v1/customers/${c.number}`, headers: me })).json().channels;
    refused(await app.inject({ method: 'PUT', url: `/api/v1/customers/${c.number}/channels`, headers: me, payload: { channels: [{ channel: 'email', value: `${'a'.repeat(5000)}@example.cn` }] } }), 400, 'REQUEST_INVALID');
    expect((await app.inject({ url: `/api/v1/customers/${c.number}`, headers: me })).json().channels).toEqual(before);
  });
});
