using System.Globalization;
using System.Reflection;
using System.Text;
using TimeBill.Kernels.Specs;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Search;

/// <summary>
/// Writes the prompt a code model (or a person) receives to propose a kernel: the task and contract, the case
/// type, a reference implementation, the machine, and every previous candidate with its outcome and timing.
/// </summary>
public static class KernelPromptBuilder
{
    /// <summary>The prompt for the next candidate of <paramref name="spec"/>, given the search so far.</summary>
    public static string Build(KernelSpec spec, SearchRound round, MachineDescription machine)
    {
        var text = new StringBuilder();
        var (absolute, relative) = spec.Tolerance(round.Shape);
        text.AppendLine(CultureInfo.InvariantCulture, $"# Write a faster C# kernel: {spec.Name}");
        text.AppendLine().AppendLine(spec.Task).AppendLine();
        text.AppendLine("## Contract");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Reply with one C# file (latest language version, unsafe allowed) defining `public static void Run({spec.CaseType.Name} c)` in a public static class; `using {spec.CaseType.Namespace};`.");
        text.AppendLine("- Available: the .NET base library, System.Runtime.Intrinsics (Vector128/256/512, X86/Arm intrinsics), System.Numerics.Tensors.TensorPrimitives.");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Verified on fresh random inputs every trial at shapes {string.Join(", ", spec.VerificationShapes)}; the output is NaN-poisoned first, so every element must be written. Tolerance per element: {absolute:g3} + {relative:g3}·|reference|.");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Timed at shape {round.Shape} (median of repetitions, inputs rotated through buffers larger than the last-level cache). Faster than the best so far wins.");
        text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"## {spec.CaseType.Name}");
        foreach (var p in spec.CaseType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            text.AppendLine(CultureInfo.InvariantCulture, $"- `{p.PropertyType.Name} {p.Name}`");
        text.AppendLine().AppendLine("## Reference implementation").AppendLine("```csharp").AppendLine(spec.NaiveSource).AppendLine("```");
        text.AppendLine().AppendLine("## Machine");
        text.AppendLine(CultureInfo.InvariantCulture, $"- CPU: {machine.CpuModel}, {machine.Cores} logical cores");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Accelerated: {string.Join(", ", machine.InstructionSets)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Caches: {(machine.Caches.Count > 0 ? string.Join(", ", machine.Caches) : "unknown")}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Runtime: {machine.Runtime}");
        text.AppendLine().AppendLine("## Previous candidates");
        if (round.History.Count == 0) text.AppendLine("None yet.");
        foreach (var r in round.History)
        {
            string time = r.MedianSeconds is { } s ? $"{s * 1e6:F2} µs" : "-";
            text.AppendLine(CultureInfo.InvariantCulture, $"- {r.Candidate} ({r.Origin}, round {r.Round}): {r.Outcome}, {time}{(r.Feedback is null ? "" : $" — {r.Feedback}")}");
        }
        if (round.Best is { } best)
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Best so far: {best.Candidate} at {best.MedianSeconds * 1e6:F2} µs.");
        return text.ToString();
    }
}
