using TimeBill.Kernels.Specs;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Kernels.Search;

/// <summary>
/// The channel for an external code model or a person: each round it writes the prompt for the kernel to
/// <c>{folder}/{kernel}.prompt.md</c> and proposes every <c>{folder}/{kernel}/*.cs</c> file not tried yet,
/// compiled with <see cref="RoslynKernelCompiler"/>.
/// </summary>
/// <param name="folder">Where prompts are written and source files are read.</param>
/// <param name="machine">The machine description the prompts show.</param>
public sealed class SourceFolderProposer(string folder, MachineDescription machine) : IKernelCandidateProposer
{
    /// <inheritdoc />
    public string Name => RoslynKernelCompiler.SourceOrigin;

    /// <inheritdoc />
    public IEnumerable<KernelCandidate> Propose(KernelSpec spec, SearchRound round)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, $"{spec.Name}.prompt.md"), KernelPromptBuilder.Build(spec, round, machine));
        string sources = Path.Combine(folder, spec.Name);
        if (!Directory.Exists(sources)) return [];
        var tried = round.History.Select(r => r.Candidate).ToHashSet();
        return Directory.EnumerateFiles(sources, "*.cs").Order()
            .Select(Path.GetFileName).Where(f => !tried.Contains(f!))
            .Select(f => RoslynKernelCompiler.Compile(spec, File.ReadAllText(Path.Combine(sources, f!)), f!))
            .ToList();
    }
}
