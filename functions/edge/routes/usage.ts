/** /v1/usage: a key's own usage by day and ensemble, and (admin) the billing export. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { DAY_MS, usageReport } from '../../../lib/metering';
import { UsageExportQuerySchema, UsageQuerySchema, UsageResponseSchema } from '../../../lib/schema';
import { principalOf, REMAINING_HEADER, requireScope } from '../auth';
import type { AppEnv } from '../context';
import { carrying } from '../metering/owed';
import { exportEvents, meterOf, renderEvents } from '../metering/service';
import { ApiError, problemResponses } from '../problem';

const usageRoute = createRoute({
  method: 'get',
  path: '/',
  summary: "The calling key's units and requests by UTC day and ensemble (days from..to, inclusive)",
  middleware: [requireScope('any')],
  request: { query: UsageQuerySchema },
  responses: {
    200: { description: 'usage', content: { 'application/json': { schema: UsageResponseSchema } } },
    ...problemResponses(400, 401, 403, 429),
  },
});

const exportRoute = createRoute({
  method: 'get',
  path: '/export',
  summary:
    'Billing meter events, one per key per hour in [from, to): Stripe meter-event shape; identifiers derive from key + hour, so re-exports never double-bill',
  middleware: [requireScope('admin')],
  request: { query: UsageExportQuerySchema },
  responses: {
    200: {
      description: 'NDJSON (one meter event per line) or CSV',
      content: { 'application/x-ndjson': { schema: z.string() }, 'text/csv': { schema: z.string() } },
    },
    ...problemResponses(400, 401, 403, 429),
  },
});

export const usage = new OpenAPIHono<AppEnv>()
  .openapi(usageRoute, async (c) => {
    const principal = principalOf(c);
    if (principal?.kind !== 'key') throw new ApiError(403, 'forbidden', 'usage is kept per API key; call with a key');
    const { from, to } = c.req.valid('query');
    const fromMs = from ? Date.parse(from) : 0;
    const toMs = to ? Date.parse(to) + DAY_MS : Date.now() + DAY_MS;
    // settlements this isolate still owes the key are booked first, so the answer includes them
    const meter = meterOf(c.env, principal.keyHash);
    const { remainingMilli, rows } = await carrying(principal.keyHash, (owed) => meter.daily(fromMs, toMs, owed));
    if (remainingMilli !== null) c.header(REMAINING_HEADER, String(remainingMilli / 1000));
    return c.json(usageReport(principal.keyId, remainingMilli, rows), 200);
  })
  .openapi(exportRoute, async (c) => {
    const { from, to, format } = c.req.valid('query');
    const events = await exportEvents(c.env, Date.parse(from), Date.parse(to));
    const type = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson';
    return c.body(renderEvents(events, format), 200, { 'content-type': type });
  });
