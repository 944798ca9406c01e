#!/usr/bin/env node
'use strict';
// The `sightline` command line: runs the built JavaScript (out/main/cli.js), building it first when the sources
// are newer (a development checkout); the same services as the app.
const path = require('node:path');
const { buildIfStale, root } = require('../scripts/build-if-stale.cjs');

buildIfStale();
const { main } = require(path.join(root, 'out', 'main', 'cli.js'));
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`sightline: ${error && error.message ? error.message : error}`);
    process.exitCode = 2;
  },
);
