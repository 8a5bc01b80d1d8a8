// Reads a JSON array of HSDS services from the file named on the command line and checks each
// against the Open Referral HSDS 3.0 schema (hsds-3.0/, copied unchanged from the
// specification's v3.0 tag). Prints one line per invalid service and exits 1 when there is
// any; prints "ok <n>" otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');

const dir = path.join(__dirname, 'hsds-3.0');
// The schemas name each other by file name ("$ref": "phone.json"): register each under it.
const ajv = new Ajv({ allErrors: true, logger: false });
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
  ajv.addSchema(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), file);
}
const validate = ajv.getSchema('service.json');
const services = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let bad = 0;
for (const s of services) {
  if (!validate(s)) {
    bad += 1;
    console.log(`${s.id}: ${JSON.stringify(validate.errors)}`);
  }
}
if (bad > 0) {
  process.exit(1);
}
console.log(`ok ${services.length}`);
