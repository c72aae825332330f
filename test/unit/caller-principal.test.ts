/** The AWS e2e target allow-lists the caller by its role's ARN, path included (IAM Identity Center roles). */
import { describe, expect, it } from 'vitest';
import { principalOfCaller } from '../e2e/aws-preflight.js';

const SSO_ROLE =
  'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef';

describe('principalOfCaller', () => {
  it("an IAM Identity Center session becomes its role's ARN with the role's path", async () => {
    const asked: string[] = [];
    const principal = await principalOfCaller(
      'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/jane@example.com',
      async (name) => {
        asked.push(name);
        return SSO_ROLE;
      },
    );
    expect(principal).toBe(SSO_ROLE);
    expect(asked).toEqual(['AWSReservedSSO_Admin_0123456789abcdef']);
  });

  it('a role without a path, in another partition, keeps its partition', async () => {
    const principal = await principalOfCaller(
      'arn:aws-cn:sts::111122223333:assumed-role/Deployer/ci',
      async (name) => `arn:aws-cn:iam::111122223333:role/${name}`,
    );
    expect(principal).toBe('arn:aws-cn:iam::111122223333:role/Deployer');
  });

  it('an IAM user is its own principal, and a role that cannot be read is an error, not a guess', async () => {
    const user = 'arn:aws:iam::111122223333:user/ci';
    expect(await principalOfCaller(user, async () => 'unused')).toBe(user);
    await expect(
      principalOfCaller('arn:aws:sts::111122223333:assumed-role/Gone/s', async () => undefined),
    ).rejects.toThrow(/iam:GetRole returned no ARN for role Gone/);
  });
});
