/**
 * Dredd 14 hooks for api-spec/drs.yaml against a live broker (started by dredd/run.ts, which
 * passes everything through DREDD_DRS_* environment variables).
 *
 * CommonJS for the same reason as wes-hooks.cjs: Dredd `require`s hook files, and a hook file
 * that fails to load is only a warning, so these hooks write a report run.ts requires.
 *
 * The caller is `alice`, who holds a grant for the dataset `demo`, and the objects are those of
 * the run tagged with that dataset. What the hooks do:
 * - credentials as drs.yaml declares them: `Authorization: Bearer <alice's token>` on the GET
 *   operations (BearerAuth), alice's Passport in the JSON body of the POST operations
 *   (PassportAuth, no Authorization header), nothing on OPTIONS (`security: [{}]`);
 * - replace the example ids with real ones: the result zip of the run for the blob, the run's
 *   bundle for PostObject, and the access id the object really offers (`signed`);
 * - build the bulk bodies with real ids plus one that cannot resolve, so the answers have the
 *   shape of the examples (`summary` 2/1/1, one `unresolved_drs_objects` entry under 404);
 * - skip every transaction but the 200s (errors, and the 202/204 this broker never gives), by
 *   name, with the reason (covered by src/drs.contract.test.ts, or impossible to provoke); any
 *   other non-200 transaction fails.
 *
 * Dredd names DRS transactions by the operation's `summary` (drs.yaml has no operation without
 * one), e.g. `/objects/{object_id} > Get info about a DrsObject. > 200 > application/json`;
 * responses without content (202, 204, 405) have no media type in the name.
 */
const fs = require('node:fs');
const path = require('node:path');
const hooks = require('hooks');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run Dredd through conformance/dredd/run.ts`);
  return v;
}

const TOKEN = env('DREDD_DRS_TOKEN');
const PASSPORT = env('DREDD_DRS_PASSPORT');
const BLOB = env('DREDD_DRS_BLOB');
const BUNDLE = env('DREDD_DRS_BUNDLE');
const ACCESS_ID = env('DREDD_DRS_ACCESS_ID');
const REPORT = env('DREDD_DRS_REPORT');

/** The examples of api-spec/drs.yaml that Dredd puts into the URLs. */
const EXAMPLE_BLOB = '5b0e8f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const EXAMPLE_BUNDLE = '9c4e2b7d-5a1f-4c3e-8b2d-6f0a1e9d7c35';
const EXAMPLE_ACCESS_ID = 'signed';
/** A well-formed id no object has (404 in bulk answers), and an id that cannot be an object id (404 for OPTIONS). */
const UNKNOWN = '00000000-0000-4000-8000-000000000000';
const NOT_AN_ID = 'not-an-object-id';

const OP = {
  info: '/service-info > Retrieve information about this service',
  options: '/objects/{object_id} > Get Authorization info about a DrsObject.',
  get: '/objects/{object_id} > Get info about a DrsObject.',
  post: "/objects/{object_id} > Get info about a DrsObject through POST'ing a Passport.",
  optionsBulk: '/objects > Get Authorization info about multiple DrsObjects.',
  bulk: '/objects > Get info about multiple DrsObjects with an optional Passport(s).',
  access: '/objects/{object_id}/access/{access_id} > Get a URL for fetching bytes',
  postAccess: "/objects/{object_id}/access/{access_id} > Get a URL for fetching bytes through POST'ing a Passport",
  bulkAccess: '/objects/access > Get URLs for fetching bytes from multiple objects with an optional Passport(s).',
};
const name = (op, status) => `${op} > ${status}${['202', '204', '405'].includes(status) ? '' : ' > application/json'}`;

const R500 = 'an internal error cannot be provoked from outside without breaking the broker; no input makes a 5xx';
const R202 = 'the broker never delays: an object exists only once its bytes are home, so there is no 202 (declared without a body) to provoke';
const R204_405 = 'the broker supports Authorizations and answers them with 200; 204 and 405 mean "not supported" (contract tests: OPTIONS block)';
const R401 = 'needs a request without or with invalid credentials; these hooks send alice’s. Covered by the contract tests (401 block: none, not a JWT, Basic, an unsigned Passport; WWW-Authenticate)';
const R403 = 'needs a caller without a grant for the dataset; these hooks use alice, who has one. Covered by the contract tests (403 block: bob by token and Passport, demo-cli-2)';
const R404 = 'needs an unknown object or another user’s private object; these hooks substitute alice’s readable ones. Covered by the contract tests (404 block, worded alike)';
const R413 = 'needs more than maxBulkRequestLength ids or pairs; covered by the contract tests (1001 ids and pairs; exactly 1000 accepted)';
const BULK_403 = 'a bulk request is never refused as a whole: each refused id is listed under unresolved_drs_objects with error_code 403 (contract tests: bulk blocks)';
const BULK_404 = 'a bulk request is never refused as a whole: each unknown id is listed under unresolved_drs_objects with error_code 404 (the 200 transaction shows one)';
const BAD_BODY = 'needs a malformed body, but Dredd sends the one valid request built from the examples; covered by the contract tests (400 block)';

/** Every non-2xx transaction of api-spec/drs.yaml, by its Dredd name, with why it is skipped. */
const SKIPS = {
  [name(OP.info, '500')]: R500,

  [name(OP.options, '204')]: R204_405,
  [name(OP.options, '400')]: 'OPTIONS /objects/{object_id} carries nothing that could be malformed; an id that cannot be an object id is a 404 (contract tests)',
  [name(OP.options, '404')]: 'needs an id that cannot be an object id; covered by the contract tests (OPTIONS block)',
  [name(OP.options, '405')]: R204_405,
  [name(OP.options, '500')]: R500,

  [name(OP.get, '202')]: R202,
  [name(OP.get, '400')]: `${BAD_BODY}: expand that is not a boolean`,
  [name(OP.get, '401')]: R401,
  [name(OP.get, '403')]: R403,
  [name(OP.get, '404')]: R404,
  [name(OP.get, '500')]: R500,

  [name(OP.post, '202')]: R202,
  [name(OP.post, '400')]: `${BAD_BODY}: not JSON, not an object, passports not JWTs, expand not a boolean`,
  [name(OP.post, '401')]: R401,
  [name(OP.post, '403')]: R403,
  [name(OP.post, '404')]: R404,
  [name(OP.post, '500')]: R500,

  [name(OP.optionsBulk, '204')]: R204_405,
  [name(OP.optionsBulk, '400')]: `${BAD_BODY}: no body, no ids, an empty list, not a list, not strings`,
  [name(OP.optionsBulk, '404')]: 'ids that cannot be object ids are listed under unresolved_drs_objects with error_code 404 (the 200 transaction shows one); the request as a whole is never 404',
  [name(OP.optionsBulk, '405')]: R204_405,
  [name(OP.optionsBulk, '413')]: R413,
  [name(OP.optionsBulk, '500')]: R500,

  [name(OP.bulk, '202')]: R202,
  [name(OP.bulk, '400')]: `${BAD_BODY}: malformed bulk_object_ids, passports, expand`,
  [name(OP.bulk, '401')]: R401,
  [name(OP.bulk, '403')]: BULK_403,
  [name(OP.bulk, '404')]: BULK_404,
  [name(OP.bulk, '413')]: R413,
  [name(OP.bulk, '500')]: R500,

  [name(OP.access, '202')]: R202,
  [name(OP.access, '400')]: 'GET /access carries only the two ids, so nothing can be malformed; an unknown access id is a 404 (contract tests)',
  [name(OP.access, '401')]: R401,
  [name(OP.access, '403')]: R403,
  [name(OP.access, '404')]: `${R404}; also an access id the object does not have, and a bundle`,
  [name(OP.access, '500')]: R500,

  [name(OP.postAccess, '202')]: R202,
  [name(OP.postAccess, '400')]: `${BAD_BODY}: not JSON, not an object, passports not JWTs`,
  [name(OP.postAccess, '401')]: R401,
  [name(OP.postAccess, '403')]: R403,
  [name(OP.postAccess, '404')]: `${R404}; also an access id the object does not have`,
  [name(OP.postAccess, '500')]: R500,

  [name(OP.bulkAccess, '202')]: R202,
  [name(OP.bulkAccess, '400')]: `${BAD_BODY}: malformed bulk_object_access_ids`,
  [name(OP.bulkAccess, '401')]: R401,
  [name(OP.bulkAccess, '403')]: BULK_403,
  [name(OP.bulkAccess, '404')]: `${BULK_404}; so are unknown access ids`,
  [name(OP.bulkAccess, '413')]: R413,
  [name(OP.bulkAccess, '500')]: R500,
};

/** The request body of each success transaction that has one: real ids, alice's Passport. */
const BODIES = {
  [name(OP.post, '200')]: { expand: false, passports: [PASSPORT] },
  [name(OP.optionsBulk, '200')]: { bulk_object_ids: [BLOB, NOT_AN_ID] },
  [name(OP.bulk, '200')]: { passports: [PASSPORT], bulk_object_ids: [BLOB, UNKNOWN] },
  [name(OP.postAccess, '200')]: { passports: [PASSPORT] },
  [name(OP.bulkAccess, '200')]: {
    passports: [PASSPORT],
    bulk_object_access_ids: [
      { bulk_object_id: BLOB, bulk_access_ids: [ACCESS_ID] },
      { bulk_object_id: UNKNOWN, bulk_access_ids: [ACCESS_ID] },
    ],
  },
};

const report = { loaded: true, executed: [], skipped: [], failedInHooks: [], unusedSkips: [] };
const seen = new Set();

function setHeader(transaction, header, value) {
  for (const k of Object.keys(transaction.request.headers)) {
    if (k.toLowerCase() === header.toLowerCase()) delete transaction.request.headers[k];
  }
  if (value !== undefined) transaction.request.headers[header] = value;
}

function statusOf(transaction) {
  return Number.parseInt(String(transaction.expected.statusCode), 10);
}

hooks.beforeEach((transaction) => {
  seen.add(transaction.name);
  // Only 200 is a success to run: 202 and 204 are 2xx too, but they are answers this broker
  // never gives to a valid request (see SKIPS).
  if (statusOf(transaction) !== 200) {
    const reason = SKIPS[transaction.name];
    if (reason) {
      transaction.skip = true;
      report.skipped.push({ name: transaction.name, reason });
    } else {
      transaction.fail = `non-2xx transaction without a stated skip reason: add it to SKIPS in ${path.basename(__filename)}`;
      report.failedInHooks.push({ name: transaction.name, reason: transaction.fail });
    }
    return;
  }
  transaction.fullPath = transaction.fullPath
    .split(EXAMPLE_BLOB)
    .join(BLOB)
    .split(EXAMPLE_BUNDLE)
    .join(BUNDLE)
    .replace(`/access/${EXAMPLE_ACCESS_ID}`, `/access/${encodeURIComponent(ACCESS_ID)}`);
  const method = transaction.request.method.toUpperCase();
  setHeader(transaction, 'Authorization', method === 'GET' ? `Bearer ${TOKEN}` : undefined);
  const body = BODIES[transaction.name];
  if (body) {
    transaction.request.body = JSON.stringify(body);
    setHeader(transaction, 'Content-Type', 'application/json');
  } else if ((method === 'POST' || method === 'OPTIONS') && transaction.name !== name(OP.options, '200')) {
    transaction.fail = `a ${method} success transaction without a body in BODIES of ${path.basename(__filename)}`;
    report.failedInHooks.push({ name: transaction.name, reason: transaction.fail });
  }
});

hooks.afterEach((transaction) => {
  if (transaction.skip) return;
  report.executed.push({
    name: transaction.name,
    request: `${transaction.request.method} ${transaction.fullPath}`,
    status: transaction.real ? transaction.real.statusCode : null,
    result: transaction.test ? transaction.test.status : null,
  });
});

hooks.afterAll((transactions, done) => {
  report.unusedSkips = Object.keys(SKIPS).filter((n) => !seen.has(n));
  fs.writeFileSync(REPORT, JSON.stringify(report, null, 2));
  done();
});
