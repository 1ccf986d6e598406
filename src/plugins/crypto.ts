// Decorates app.secretBox: the one place that encrypts and decrypts stored credentials.
import fp from 'fastify-plugin';
import { createSecretBox, type SecretBox } from '../crypto/secret-box.ts';

declare module 'fastify' {
  interface FastifyInstance {
    secretBox: SecretBox;
  }
}

export default fp(
  async (app) => {
    app.decorate('secretBox', createSecretBox(app.config.keyring));
  },
  { name: 'ffx-crypto', dependencies: ['ffx-config'] },
);
