/**
 * What `npm run test:e2e:aws` needs before it deploys anything: a region and credentials that resolve to an
 * identity. Without them the run ends with one line and exit status 2, as every tool answers a mistake,
 * instead of an error inside vitest's global-setup stack trace.
 */
export const AWS_PREFLIGHT_TOOL = 'test:e2e:aws';

/** The region and the caller's principal, or the one line that says what is missing. */
export async function awsPreflight(
  env: NodeJS.ProcessEnv,
  callerPrincipal: (region: string) => Promise<string>,
): Promise<{ region: string; runner: string } | { problem: string }> {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region)
    return { problem: 'E2E_TARGET=aws needs AWS_REGION and credentials for the account to deploy to' };
  try {
    return { region, runner: await callerPrincipal(region) };
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    return {
      problem: `no usable AWS credentials for ${region} (${reason}): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the account to deploy to`,
    };
  }
}

/** Ends the run with the preflight's line and exit status 2. */
export function refuse(problem: string): never {
  process.stderr.write(`${AWS_PREFLIGHT_TOOL}: ${problem}\n`);
  process.exit(2);
}

/**
 * The IAM principal a trust policy or an allow-list names for the caller of `sts:GetCallerIdentity`. An
 * assumed-role session ARN (`arn:aws:sts::111122223333:assumed-role/Name/session`) carries the role's name
 * but not its path, and a role's ARN includes its path: an IAM Identity Center role is
 * `arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_…` (IAM user guide,
 * "IAM identifiers"; IAM Identity Center user guide, "Referencing permission sets in resource policies").
 * So the role's ARN is read with `iam:GetRole`; any other caller (an IAM user) is its own principal.
 */
export async function principalOfCaller(
  callerArn: string,
  roleArnOf: (roleName: string) => Promise<string | undefined>,
): Promise<string> {
  const session = /^arn:[\w-]+:sts::\d{12}:assumed-role\/([^/]+)\/[^/]+$/.exec(callerArn);
  const roleName = session?.[1];
  if (roleName === undefined) return callerArn;
  const roleArn = await roleArnOf(roleName);
  if (!roleArn) throw new Error(`iam:GetRole returned no ARN for role ${roleName}`);
  return roleArn;
}
