namespace TimeBill.Kernels.Tuning;

/// <summary>What must match for a tuning table to apply: a table made on another machine or runtime is stale.</summary>
/// <param name="CpuModel">CPU model name from /proc/cpuinfo.</param>
/// <param name="InstructionSets">Accelerated instruction sets, comma-separated.</param>
/// <param name="Cores">Logical processors.</param>
/// <param name="Runtime">.NET runtime version.</param>
public sealed record MachineFingerprint(string CpuModel, string InstructionSets, int Cores, string Runtime)
{
    /// <summary>This machine's fingerprint.</summary>
    public static MachineFingerprint Current { get; } = Of(MachineDescription.Current);

    /// <summary>The fingerprint of <paramref name="machine"/>.</summary>
    public static MachineFingerprint Of(MachineDescription machine) =>
        new(machine.CpuModel, string.Join(",", machine.InstructionSets), machine.Cores, machine.Runtime);
}
