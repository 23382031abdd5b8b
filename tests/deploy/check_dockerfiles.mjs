// Checks Qcash's Dockerfiles without a container engine: multi-stage, pinned base images, a
// final stage with no compilers, the time zone data, an unprivileged user, an exec-form
// entrypoint, and no secrets copied in; plus a .dockerignore that keeps local state out.
//
//   node check_dockerfiles.mjs <repository root> <Dockerfile>...     exit 0 when all pass
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [root, ...files] = process.argv.slice(2);
const problems = [];

for (const file of files) {
  // Join continuation lines, drop comments.
  const lines = readFileSync(file, 'utf8').replace(/\\\n/g, ' ').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = [];
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    const upper = instruction.toUpperCase();
    if (upper === 'FROM') stages.push({ image: rest[0], lines: [] });
    else if (stages.length) stages[stages.length - 1].lines.push({ upper, text: rest.join(' ') });
  }
  const say = (message) => problems.push(`${file}: ${message}`);
  if (stages.length < 2) say('not a multi-stage build');
  for (const stage of stages) {
    if (!/:[\w.-]+$/.test(stage.image) && !stage.image.includes('@sha256:')) {
      say(`base image ${stage.image} has no tag`);
    }
    if (/:latest$/.test(stage.image)) say(`base image ${stage.image} uses latest`);
  }
  const final = stages[stages.length - 1];
  if (!final) continue;
  const runs = final.lines.filter((l) => l.upper === 'RUN').map((l) => l.text).join(' ');
  const tools = runs.match(/\b(g\+\+|gcc|clang|cmake|ninja-build|build-essential|make|[\w.+-]+-dev)\b/g);
  if (tools) say(`the final image installs build tools: ${[...new Set(tools)].join(', ')}`);
  if (!/\btzdata\b/.test(runs)) say('the final image lacks the time zone data (tzdata)');
  const user = final.lines.filter((l) => l.upper === 'USER').pop();
  if (!user) say('the final image runs as root (no USER)');
  else if (/^(0|root)(:|$)/.test(user.text)) say(`the final image runs as ${user.text}`);
  const entry = final.lines.filter((l) => l.upper === 'ENTRYPOINT').pop();
  if (!entry || !entry.text.startsWith('[')) say('no exec-form ENTRYPOINT (the binary must be PID 1 to get SIGTERM)');
  for (const stage of stages) {
    for (const l of stage.lines.filter((x) => x.upper === 'COPY' || x.upper === 'ADD')) {
      if (/\.local|\.key\b|\.pem\b|secret/i.test(l.text)) say(`copies something secret: ${l.text}`);
    }
  }
}

const ignore = join(root, '.dockerignore');
if (!existsSync(ignore)) {
  problems.push('no .dockerignore');
} else {
  const patterns = readFileSync(ignore, 'utf8').split('\n').map((l) => l.trim());
  for (const needed of ['.git', '.local', 'build']) {
    if (!patterns.includes(needed)) problems.push(`.dockerignore does not exclude ${needed}`);
  }
}

if (problems.length) {
  console.log(`${problems.length} problem(s)`);
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(1);
}
console.log(`${files.length} Dockerfiles pass`);
