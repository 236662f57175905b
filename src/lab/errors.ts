import { PortholeError } from '../errors/index.ts';

/**
 * Specific codes of the NAT lab (docs/lab.md, "Errors"). Bad options are `ERR_INVALID_OPTION`
 * (`ErrorCode.INVALID_OPTION` of porthole/errors) naming the option.
 */
export const LabErrorCode = {
  /** {@link LabUnsupportedError}: not Linux, not root, or a tool is missing. */
  UNSUPPORTED: 'ERR_LAB_UNSUPPORTED',
  /** {@link LabCommandError}: a tool or an exec'd command exited non-zero. */
  COMMAND_FAILED: 'ERR_LAB_COMMAND_FAILED',
  /** {@link LabCommandError}: a tool or an exec'd command outlived its `timeoutMs`. */
  COMMAND_TIMEOUT: 'ERR_LAB_COMMAND_TIMEOUT',
  /** {@link LabNetemUnsupportedError}: no netem qdisc and no user-space relay. */
  NETEM_UNSUPPORTED: 'ERR_LAB_NETEM_UNSUPPORTED',
  /** {@link LabExistsError}: namespaces with this prefix already exist. */
  EXISTS: 'ERR_LAB_EXISTS',
} as const;
/** One of the {@link LabErrorCode} values. */
export type LabErrorCodeValue = (typeof LabErrorCode)[keyof typeof LabErrorCode];

/**
 * The NAT lab cannot run here: not Linux, not root, or a tool (`ip`, `nft`, …) is missing.
 * Code `ERR_LAB_UNSUPPORTED`. Run as root on Linux with iproute2 and nftables installed.
 */
export class LabUnsupportedError extends PortholeError {
  constructor(reason: string) {
    super(LabErrorCode.UNSUPPORTED, `the NAT lab cannot run here: ${reason}`);
  }
}

/**
 * A tool the lab ran (`ip`, `nft`, `tc`, `conntrack`, `sysctl` or a command under
 * `ip netns exec`) failed. Code `ERR_LAB_COMMAND_FAILED`, or `ERR_LAB_COMMAND_TIMEOUT` when it
 * outlived its `timeoutMs`. `stderr` keeps what the tool said.
 */
export class LabCommandError extends PortholeError {
  /** The command line, for the message and logs. */
  readonly command: readonly string[];
  /** Exit code, or `null` when the process was killed by a signal. */
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly stdout: string;

  constructor(
    code: typeof LabErrorCode.COMMAND_FAILED | typeof LabErrorCode.COMMAND_TIMEOUT,
    command: readonly string[],
    exitCode: number | null,
    stdout: string,
    stderr: string,
    cause?: unknown,
  ) {
    const what =
      code === LabErrorCode.COMMAND_TIMEOUT ? 'timed out' : `failed (exit ${exitCode ?? 'signal'})`;
    const said = stderr.trim().split('\n').slice(-3).join(' | ');
    super(code, `\`${command.join(' ')}\` ${what}${said === '' ? '' : `: ${said}`}`, { cause });
    this.command = command;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/**
 * Delay, loss and reordering cannot be emulated: the kernel has no `netem` queueing discipline
 * (module sch_netem) and the user-space fallback (a relayed tap pair) cannot run either (no
 * `/dev/net/tun` or no python3; `reason` says which). Code `ERR_LAB_NETEM_UNSUPPORTED`. Load
 * sch_netem, or install python3 and load the tun module.
 */
export class LabNetemUnsupportedError extends PortholeError {
  constructor(cause?: unknown, reason?: string) {
    super(
      LabErrorCode.NETEM_UNSUPPORTED,
      'this kernel has no netem qdisc (sch_netem)' +
        (reason === undefined ? '' : ` and the user-space relay cannot run (${reason})`) +
        '; delay, loss and reordering cannot be emulated',
      { cause },
    );
  }
}

/**
 * Namespaces of the requested prefix already exist (another lab, or one a crash left behind).
 * Code `ERR_LAB_EXISTS`. Pick another prefix, or remove the old lab with `porthole lab down`.
 */
export class LabExistsError extends PortholeError {
  readonly namespaces: readonly string[];

  constructor(prefix: string, namespaces: readonly string[]) {
    super(
      LabErrorCode.EXISTS,
      `a lab with prefix "${prefix}" already exists (${namespaces.join(', ')}); ` +
        `remove it with \`porthole lab down --prefix ${prefix}\` or choose another prefix`,
    );
    this.namespaces = namespaces;
  }
}
