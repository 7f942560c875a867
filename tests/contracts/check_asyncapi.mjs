// Checks docs/asyncapi.yaml with the official AsyncAPI parser
// (@asyncapi/parser, pinned in package-lock.json), then against the code:
//
//  - the parser's diagnostics: any error, and any warning, fails the check
//    (hints and information are printed only);
//  - every topic of the code's catalogue (libs/app/topics.c, with the names
//    of include/eventbus/app/topics.h and the suffix of
//    include/eventbus/dlq.h) is a channel address, and every channel is a
//    topic of the catalogue;
//  - every JSON Schema in docs/schemas/ is the data schema of exactly one
//    message, whose dataschema is that schema's $id and whose type and
//    version are the ones the file is named after; every event message is
//    one of them;
//  - every event message has a Kafka key and the content-type header.
//
// Usage: node check_asyncapi.mjs <repository root>. Exit 0 when all holds,
// 1 with one line per finding otherwise, 2 on bad usage.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';

const root = process.argv[2];
if (!root) {
  console.error('usage: node check_asyncapi.mjs <repository root>');
  process.exit(2);
}
const docPath = resolve(root, 'docs/asyncapi.yaml');
const problems = [];
let addresses = [];
let files = [];

// ---- the code's topic catalogue ------------------------------------------------

function catalogue() {
  const header = readFileSync(join(root, 'include/eventbus/app/topics.h'), 'utf8');
  const dlqHeader = readFileSync(join(root, 'include/eventbus/dlq.h'), 'utf8');
  const source = readFileSync(join(root, 'libs/app/topics.c'), 'utf8');
  const names = {};
  for (const m of header.matchAll(/#define\s+(APP_TOPIC_\w+)\s+"([^"]+)"/g)) names[m[1]] = m[2];
  const suffix = /#define\s+EB_DLQ_SUFFIX\s+"([^"]+)"/.exec(dlqHeader);
  const array = /app_topics\[\]\s*=\s*\{([\s\S]*?)\};/.exec(source);
  if (!suffix || !array) throw new Error('cannot read the topic catalogue from the sources');
  const body = array[1].replace(/\/\*[\s\S]*?\*\//g, '');
  const topics = [];
  for (const entry of body.split(',').map((e) => e.trim()).filter(Boolean)) {
    const m = /^(APP_TOPIC_\w+)(\s+EB_DLQ_SUFFIX)?$/.exec(entry);
    if (!m || !(m[1] in names)) throw new Error(`cannot read catalogue entry "${entry}"`);
    topics.push(names[m[1]] + (m[2] ? suffix[1] : ''));
  }
  return topics;
}

// ---- parse -----------------------------------------------------------------------

const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, docPath).parse();
const severityName = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'information',
  [DiagnosticSeverity.Hint]: 'hint',
};
for (const d of diagnostics) {
  const where = d.path && d.path.length ? d.path.join('.') : '(document)';
  const line = `${severityName[d.severity] || d.severity} ${d.code}: ${d.message} at ${where}`;
  if (d.severity <= DiagnosticSeverity.Warning) problems.push(line);
  else console.log(line);
}
if (!document) {
  problems.push('the parser produced no document');
  finish();
}

// ---- channels against the catalogue -------------------------------------------------

const topics = catalogue();
addresses = document.channels().all().map((c) => c.address());
for (const t of topics)
  if (!addresses.includes(t)) problems.push(`topic ${t} of libs/app/topics.c has no channel`);
for (const a of addresses)
  if (!topics.includes(a)) problems.push(`channel ${a} is not a topic of libs/app/topics.c`);

// ---- messages against docs/schemas ----------------------------------------------------

// The resolved data schema and the dataschema constant of an event message
// (payload: allOf [CloudEvent, {properties: {type, dataschema, data}}]).
function eventParts(message) {
  const payload = message.payload();
  if (!payload) return null;
  const parts = [payload, ...(payload.allOf() || [])];
  const props = {};
  for (const p of parts) Object.assign(props, p.properties() || {});
  if (!props.data || !props.dataschema || !props.type) return null;
  return {
    type: props.type.const(),
    dataschema: props.dataschema.const(),
    dataId: props.data.id() || props.data.json().$id,
  };
}

const schemaDir = join(root, 'docs/schemas');
files = readdirSync(schemaDir).filter((f) => f.endsWith('.json'));
const byId = {};
for (const f of files) {
  const id = JSON.parse(readFileSync(join(schemaDir, f), 'utf8')).$id;
  const m = /^([A-Za-z]+)\.v([1-9][0-9]*)\.json$/.exec(f);
  if (!m) problems.push(`docs/schemas/${f} is not named <Type>.v<n>.json`);
  else if (id !== `urn:eventbus:schema:${m[1]}:${m[2]}`)
    problems.push(`docs/schemas/${f}: $id ${id} is not urn:eventbus:schema:${m[1]}:${m[2]}`);
  byId[id] = { file: f, messages: [] };
}

for (const message of document.components().messages().all()) {
  const name = message.id();
  const ev = eventParts(message);
  if (!ev) {
    if (!/DeadLetter$/.test(name)) problems.push(`message ${name} is neither an event nor a dead letter`);
    continue;
  }
  if (!byId[ev.dataId]) {
    problems.push(`message ${name}: its data (${ev.dataId}) is no file of docs/schemas`);
    continue;
  }
  byId[ev.dataId].messages.push(name);
  if (ev.dataId !== ev.dataschema)
    problems.push(`message ${name}: data is ${ev.dataId}, dataschema says ${ev.dataschema}`);
  if (!ev.dataschema.startsWith(`urn:eventbus:schema:${ev.type}:`))
    problems.push(`message ${name}: type ${ev.type} does not match dataschema ${ev.dataschema}`);
  const kafka = message.bindings().get('kafka');
  if (!kafka || !kafka.value().key) problems.push(`message ${name} has no Kafka key`);
  const headers = message.headers();
  if (!headers || !(headers.properties() || {})['content-type'])
    problems.push(`message ${name} has no content-type header`);
}
for (const [id, s] of Object.entries(byId))
  if (s.messages.length !== 1)
    problems.push(`docs/schemas/${s.file} (${id}) is the data of ${s.messages.length} messages: ${s.messages.join(', ') || 'none'}`);

finish();

function finish() {
  for (const p of problems) console.log(`FAIL ${p}`);
  const messages = document ? document.components().messages().all().length : 0;
  console.log(
    `asyncapi.yaml: ${problems.length ? 'FAILED' : 'ok'}: ${addresses.length} channels, ` +
      `${messages} messages, ${files.length} schemas, ${problems.length} problems`);
  process.exit(problems.length ? 1 : 0);
}
