// Checks Qcash's Dockerfile without a container engine: multi-stage, pinned base images (an
// ARG named in FROM must have a pinned default), no development build by default, and for each
// image (a stage no other stage builds on or copies from, with the stages it is FROM): no
// compilers, the time zone data, an unprivileged user, an exec-form entrypoint, and no secrets
// copied in; plus a .dockerignore that keeps local state out.
//
//   node check_dockerfiles.mjs <repository root> [--images=a,b,...] <Dockerfile>...
//     exit 0 when all pass; --images names the targets every Dockerfile must build
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [root, ...rest] = process.argv.slice(2);
const imagesOption = rest.find((a) => a.startsWith('--images='));
const wantedImages = imagesOption ? imagesOption.slice('--images='.length).split(',') : [];
const files = rest.filter((a) => !a.startsWith('--'));
const problems = [];

for (const file of files) {
  // Join continuation lines, drop comments.
  const lines = readFileSync(file, 'utf8').replace(/\\\n/g, ' ').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const say = (message) => problems.push(`${file}: ${message}`);
  const globalArgs = new Map();  // ARGs before the first FROM: the only ones FROM may use
  const stages = [];
  for (const line of lines) {
    const [instruction, ...words] = line.split(/\s+/);
    const upper = instruction.toUpperCase();
    const text = words.join(' ');
    if (upper === 'ARG' && /^QCASH_DEVELOPMENT(=|$)/.test(text) && text !== 'QCASH_DEVELOPMENT=OFF') {
      say(`${text}: images are release builds unless --build-arg QCASH_DEVELOPMENT=ON asks`);
    }
    if (/-DQCASH_DEVELOPMENT=ON\b/.test(text)) say('builds the development conveniences in unasked');
    if (upper === 'FROM') {
      const image = words[0].replace(/\$\{?(\w+)\}?/g, (_, name) => {
        if (!globalArgs.get(name)) say(`base image ${words[0]}: ARG ${name} has no default`);
        return globalArgs.get(name) ?? '';
      });
      const as = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ image, name: as > 0 ? words[as + 1] : String(stages.length), lines: [] });
    } else if (stages.length) {
      stages[stages.length - 1].lines.push({ upper, text });
    } else if (upper === 'ARG') {
      const [name, value] = text.split('=');
      globalArgs.set(name, value);
    }
  }
  if (stages.length < 2) say('not a multi-stage build');
  const byName = new Map(stages.map((s) => [s.name, s]));
  const usedBy = new Set();
  for (const stage of stages) {
    if (byName.has(stage.image)) {
      usedBy.add(stage.image);
      continue;
    }
    if (!/:[\w.-]+$/.test(stage.image) && !stage.image.includes('@sha256:')) {
      say(`base image ${stage.image} has no tag`);
    }
    if (/:latest$/.test(stage.image)) say(`base image ${stage.image} uses latest`);
  }
  for (const stage of stages) {
    for (const l of stage.lines.filter((x) => x.upper === 'COPY' || x.upper === 'ADD')) {
      const from = /--from=(\S+)/.exec(l.text);
      if (from) usedBy.add(from[1]);
      if (/\.local|\.key\b|\.pem\b|secret/i.test(l.text)) say(`copies something secret: ${l.text}`);
    }
  }
  const images = stages.filter((s) => !usedBy.has(s.name));
  for (const wanted of wantedImages) {
    if (!images.some((s) => s.name === wanted)) say(`no image stage ${wanted} (docker build --target ${wanted})`);
  }
  for (const image of images) {
    const where = images.length > 1 || wantedImages.length ? `image ${image.name}: ` : '';
    // What the image holds: its own lines after those of the stages it is built FROM.
    const chain = [];
    for (let s = image; s; s = byName.get(s.image)) chain.unshift(...s.lines);
    const runs = chain.filter((l) => l.upper === 'RUN').map((l) => l.text).join(' ');
    const tools = runs.match(/\b(g\+\+|gcc|clang|cmake|ninja-build|build-essential|make|[\w.+-]+-dev)\b/g);
    if (tools) say(`${where}the final image installs build tools: ${[...new Set(tools)].join(', ')}`);
    if (!/\btzdata\b/.test(runs)) say(`${where}the final image lacks the time zone data (tzdata)`);
    const user = chain.filter((l) => l.upper === 'USER').pop();
    if (!user) say(`${where}the final image runs as root (no USER)`);
    else if (/^(0|root)(:|$)/.test(user.text)) say(`${where}the final image runs as ${user.text}`);
    const entry = chain.filter((l) => l.upper === 'ENTRYPOINT').pop();
    if (!entry || !entry.text.startsWith('[')) say(`${where}no exec-form ENTRYPOINT (the binary must be PID 1 to get SIGTERM)`);
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
console.log(`${files.length} Dockerfile(s) pass`);
