// Decorates app.github: GitHub clients and tokens for a user (src/github/github-access.ts),
// shared by routes and, through JobDeps, by the job processors.
import fp from 'fastify-plugin';
import { createGitHubAccess, type GitHubAccess } from '../github/github-access.ts';

declare module 'fastify' {
  interface FastifyInstance {
    github: GitHubAccess;
  }
}

export default fp(
  async (app) => {
    app.decorate(
      'github',
      createGitHubAccess({
        db: app.db,
        config: app.config,
        secretBox: app.secretBox,
        log: app.log,
      }),
    );
  },
  { name: 'ffx-github', dependencies: ['ffx-config', 'ffx-db', 'ffx-crypto'] },
);
