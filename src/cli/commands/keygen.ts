// `pulldeploy keygen --out PREFIX`: the ed25519 key pair for signing releases (CI) and verifying them (instances).
import { ExitCode, UsageError } from '../../errors.js';
import { generateKeyFiles } from '../../publish/keygen.js';
import type { Command } from '../commands.js';
import { createCommandLogger } from '../context.js';
import { commonOptionsHelp, parseCommandLine } from '../options.js';

const help = `Usage: pulldeploy keygen --out PREFIX

Writes an ed25519 key pair in standard PEM: PREFIX.key, the private key (PKCS#8, mode 0600) that CI
signs releases with ("promote --sign-key PREFIX.key"), and PREFIX.pub, the public key (SPKI) that
instances verify with (verify_keys in the configuration, or PULLDEPLOY_VERIFY_KEYS). Existing files
are never overwritten. OpenSSL reads both: "openssl pkey -in PREFIX.key -pubout" prints PREFIX.pub.

For rotation, configure the old and the new public key together, sign with the new one, then drop
the old one once every pointer has been promoted again.

Options:
      --out PREFIX       path prefix of the two files

${commonOptionsHelp}

Examples:
  pulldeploy keygen --out release-2026
`;

export const keygenCommand: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandLine('keygen', args, { out: { type: 'string' } });
    if (values.help) {
      io.stdout.write(help);
      return ExitCode.ok;
    }
    if (positionals.length !== 0) throw new UsageError(`keygen takes no arguments, got: ${positionals.join(' ')}`);
    const prefix = values.out as string | undefined;
    if (prefix === undefined || prefix === '') throw new UsageError('missing --out PREFIX: where to write PREFIX.key and PREFIX.pub');
    const files = await generateKeyFiles(prefix);
    createCommandLogger(values, io).info(
      `wrote ${files.privateKey} (private: keep it in CI's secrets) and ${files.publicKey} (public: add it to verify_keys on the instances)`,
    );
    io.stdout.write(values.json ? JSON.stringify(files) + '\n' : `${files.privateKey}\n${files.publicKey}\n`);
    return ExitCode.ok;
  },
};
