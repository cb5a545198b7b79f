using TimeBill.Kernels.Tuning;
using TimeBill.Kernels;
using TimeBill.Kernels.Search;
using TimeBill.Kernels.Specs;

namespace TimeBill.Tests.Kernels;

public class SearchTests
{
    private static readonly KernelProfiler SmallProfiler = new(lastLevelCacheBytes: 256 << 10) { Repetitions = 3, MinBatch = TimeSpan.FromMicroseconds(200) };

    [Fact]
    public void Feature_proposer_starts_at_the_default_and_then_walks_the_neighbours_of_the_best()
    {
        var spec = new MatVecFloat32Spec();
        var proposer = new FeatureSpaceProposer();
        var shape = spec.ProfileShapes[0];
        var first = proposer.Propose(spec, new SearchRound(0, shape, [], null)).ToList();
        Assert.Equal(spec.DefaultVariant, first[0].Variant);
        Assert.All(first.Skip(1), c => Assert.Equal(1, FeatureSpaceProposer.Distance(c.Variant!.Value, spec.DefaultVariant)));

        var best = new KernelVariant(KernelVariant.Lanes, 128, 2, 2, 1);
        var record = new CandidateRecord(spec.Name, "medium", shape.Label, best.ToString(), "features", 0, CandidateOutcome.Accepted, null, 1e-3, best);
        var next = proposer.Propose(spec, new SearchRound(1, shape, [record], record)).ToList();
        Assert.NotEmpty(next);
        Assert.All(next, c => Assert.Equal(1, FeatureSpaceProposer.Distance(c.Variant!.Value, best)));
    }

    [Fact]
    public void Feature_proposer_widens_to_two_feature_changes_once_the_neighbours_are_tried()
    {
        var spec = new MatVecFloat32Spec();
        var shape = spec.ProfileShapes[0];
        var best = spec.DefaultVariant;
        var history = spec.FeatureSpace().Where(v => FeatureSpaceProposer.Distance(v, best) <= 1)
            .Select(v => new CandidateRecord(spec.Name, "medium", shape.Label, v.ToString(), "features", 0, CandidateOutcome.Accepted, null, v == best ? 1e-3 : 2e-3, v))
            .ToList();
        var next = new FeatureSpaceProposer().Propose(spec, new SearchRound(1, shape, history, history.First(r => r.Variant == best))).ToList();
        Assert.NotEmpty(next);
        Assert.All(next, c => Assert.Equal(2, FeatureSpaceProposer.Distance(c.Variant!.Value, best)));
    }

    [Fact]
    public void Search_verifies_times_and_picks_an_accepted_built_in_winner()
    {
        var spec = new RmsNormSpec();
        var wrongSource = new FixedProposer(RoslynKernelCompiler.Compile(spec, """
            using TimeBill.Kernels.Specs;
            public static class Candidate { public static void Run(RmsNormCase c) { for (int i = 0; i < c.Length; i++) c.Y[i] = c.X[i]; } }
            """, "identity.cs"));
        var search = new KernelSearch([new FeatureSpaceProposer(), wrongSource], SmallProfiler) { MaxDepth = 2 };
        var result = search.Run(spec, RmsNormSpec.Shape(1000), TimeSpan.FromSeconds(30));

        Assert.NotNull(result.Winner);
        Assert.Equal(CandidateOutcome.Accepted, result.Winner.Outcome);
        Assert.NotNull(result.Winner.Variant);
        Assert.Equal(1, result.Wrong);
        Assert.All(result.History.Where(r => r.Outcome == CandidateOutcome.Accepted), r => Assert.True(r.MedianSeconds >= result.Winner.MedianSeconds));
        Assert.NotNull(result.NaiveSeconds);
        Assert.Equal(result.History.Select(r => r.Candidate).Distinct().Count(), result.History.Count);
    }

    [Fact]
    public void Fast_p_counts_correct_kernels_faster_than_eager_by_more_than_p()
    {
        KernelSearchResult Result(double? eager, double? winner) => new("k", "any", "1", [],
            winner is null ? null : new CandidateRecord("k", "any", "1", "c", "features", 0, CandidateOutcome.Accepted, null, winner, default(KernelVariant)),
            1, eager, "depth");
        var results = new[] { Result(2, 1), Result(1.2, 1), Result(1, 2), Result(1, null), Result(null, 1) };
        Assert.Equal(2 / 4.0, KernelSearchResult.FastP(results, 1.0));
        Assert.Equal(1 / 4.0, KernelSearchResult.FastP(results, 1.5));
    }

    [Fact]
    public void Source_folder_proposer_writes_the_prompt_and_compiles_new_files_once()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"timebill-proposals-{Guid.NewGuid():N}");
        try
        {
            var spec = new SwiGluSpec();
            Directory.CreateDirectory(Path.Combine(folder, spec.Name));
            File.WriteAllText(Path.Combine(folder, spec.Name, "naive.cs"), spec.NaiveSource);
            var proposer = new SourceFolderProposer(folder, MachineDescription.Current);
            var shape = spec.ProfileShapes[0];
            var proposed = proposer.Propose(spec, new SearchRound(0, shape, [], null)).ToList();
            Assert.Single(proposed);
            Assert.Null(proposed[0].CompileError);

            var tried = new CandidateRecord(spec.Name, "any", shape.Label, "naive.cs", "source", 0, CandidateOutcome.Wrong, "element 3 is 1, expected 2", null, null);
            Assert.Empty(proposer.Propose(spec, new SearchRound(1, shape, [tried], null)));
            string prompt = File.ReadAllText(Path.Combine(folder, $"{spec.Name}.prompt.md"));
            Assert.Contains(spec.Task, prompt);
            Assert.Contains("public static void Run(SwiGluCase c)", prompt);
            Assert.Contains("element 3 is 1, expected 2", prompt);
            Assert.Contains(MachineDescription.Current.CpuModel, prompt);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class FixedProposer(KernelCandidate candidate) : IKernelCandidateProposer
    {
        public string Name => "fixed";
        public IEnumerable<KernelCandidate> Propose(KernelSpec spec, SearchRound round) => round.Depth == 0 ? [candidate] : [];
    }
}
