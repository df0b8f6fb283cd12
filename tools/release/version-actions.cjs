// How `nx release version` reads and writes the versions of tray's npm packages. nx's default
// implementation lives in the @nx/js plugin, which has no release matching our nx version in
// the registry; this small one does the same for plain package.json workspaces: the version is
// package.json's `version`, and a bump rewrites the ranges on it in the other @tray packages
// (keeping their ^/~ prefix; `*` and workspace: ranges are left alone).
const { join } = require('node:path');
const { VersionActions } = require('nx/release');

const COLLECTIONS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

function readJson(tree, path) {
  return JSON.parse(tree.read(path, 'utf-8'));
}

function writeJson(tree, path, value) {
  tree.write(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** The new range for a dependency: same prefix as before, or unchanged when it floats. */
function bumpRange(range, version) {
  if (range === '*' || range.startsWith('workspace:') || range.startsWith('file:')) return range;
  const prefix = /^[\^~]/.exec(range)?.[0] ?? '';
  return `${prefix}${version}`;
}

class NpmPackageVersionActions extends VersionActions {
  validManifestFilenames = ['package.json'];

  packageName(projectGraph, projectName) {
    const node = projectGraph.nodes[projectName];
    return node?.data?.metadata?.js?.packageName ?? projectName;
  }

  async readCurrentVersionFromSourceManifest(tree) {
    const manifestPath = join(this.projectGraphNode.data.root, 'package.json');
    const { version } = readJson(tree, manifestPath);
    return version ? { currentVersion: version, manifestPath } : null;
  }

  async readCurrentVersionFromRegistry() {
    // Nothing is published yet; nx.json's fallbackCurrentVersionResolver reads from disk.
    return null;
  }

  async readCurrentVersionOfDependency(tree, projectGraph, dependencyProjectName) {
    const manifest = readJson(tree, join(this.projectGraphNode.data.root, 'package.json'));
    const name = this.packageName(projectGraph, dependencyProjectName);
    for (const collection of COLLECTIONS) {
      const range = manifest[collection]?.[name];
      if (range !== undefined) return { currentVersion: range, dependencyCollection: collection };
    }
    return { currentVersion: null, dependencyCollection: null };
  }

  async updateProjectVersion(tree, newVersion) {
    const logs = [];
    for (const { manifestPath } of this.manifestsToUpdate) {
      const manifest = readJson(tree, manifestPath);
      manifest.version = newVersion;
      writeJson(tree, manifestPath, manifest);
      logs.push(`✍️  New version ${newVersion} written to manifest: ${manifestPath}`);
    }
    return logs;
  }

  async updateProjectDependencies(tree, projectGraph, dependenciesToUpdate) {
    const logs = [];
    for (const { manifestPath } of this.manifestsToUpdate) {
      const manifest = readJson(tree, manifestPath);
      let updated = 0;
      for (const [projectName, version] of Object.entries(dependenciesToUpdate)) {
        const name = this.packageName(projectGraph, projectName);
        for (const collection of COLLECTIONS) {
          const range = manifest[collection]?.[name];
          if (range === undefined) continue;
          const next = bumpRange(range, version);
          if (next !== range) {
            manifest[collection][name] = next;
            updated++;
          }
        }
      }
      if (updated > 0) {
        writeJson(tree, manifestPath, manifest);
        logs.push(
          `✍️  Updated ${updated} dependenc${updated === 1 ? 'y' : 'ies'} in manifest: ${manifestPath}`,
        );
      }
    }
    return logs;
  }
}

module.exports = NpmPackageVersionActions;
module.exports.default = NpmPackageVersionActions;
