#!/usr/bin/env node
'use strict';
// The `sightline` command line. Runs the TypeScript sources directly through tsx (same services as the app).
require('tsx/cjs');
const { main } = require('../main/cli/main.ts');
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`sightline: ${error && error.message ? error.message : error}`);
    process.exitCode = 2;
  },
);
