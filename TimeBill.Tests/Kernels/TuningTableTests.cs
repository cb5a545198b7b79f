using System.Text.Json.Nodes;
using TimeBill.Kernels;
using TimeBill.Kernels.Search;
using TimeBill.Kernels.Specs;
using TimeBill.Kernels.Tuning;

namespace TimeBill.Tests.Kernels;

public sealed class TuningTableTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"timebill-tuning-{Guid.NewGuid():N}");
    private string TablePath => Path.Combine(_folder, "kernel-tuning.json");
    private static readonly KernelVariant Tuned = new(KernelVariant.Lanes, 128, 2, 2, 2, PrefetchDistance: 512);

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static KernelTuningTable TableWithWinner()
    {
        var winner = new CandidateRecord(KernelNames.MatVecFloat32, "large", "49152x576", Tuned.ToString(), "features", 1, CandidateOutcome.Accepted, null, 0.004, Tuned);
        var loser = new CandidateRecord(KernelNames.MatVecFloat32, "large", "49152x576", "broken.cs", "source", 0, CandidateOutcome.CompileError, "CS1002: ; expected", null, null);
        var table = new KernelTuningTable();
        var result = new KernelSearchResult(KernelNames.MatVecFloat32, "large", "49152x576", [loser, winner], winner, 0.03, 0.006, "no gain");
        table.Record(result.Entry, result.History);
        return table;
    }

    [Fact]
    public void Round_trips_winners_and_history()
    {
        TableWithWinner().Save(TablePath);
        var loaded = KernelTuningTable.Load(TablePath);
        Assert.Equal(TuningTableStatus.Loaded, loaded.Status);
        Assert.Equal(Tuned, loaded.Choose(KernelNames.MatVecFloat32, "large"));
        Assert.Equal(2, loaded.History.Count);
        Assert.Equal("CS1002: ; expected", loaded.History[0].Feedback);
        Assert.Equal(0.006, Assert.Single(loaded.Entries).EagerSeconds);
        Assert.Contains("\"shape_class\"", File.ReadAllText(TablePath));
    }

    [Fact]
    public void A_table_written_before_the_prefetch_knob_loads_without_prefetching()
    {
        TableWithWinner().Save(TablePath);
        var json = JsonNode.Parse(File.ReadAllText(TablePath))!;
        foreach (var entry in json["entries"]!.AsArray()) Assert.True(entry!["variant"]!.AsObject().Remove("prefetch_distance"));
        File.WriteAllText(TablePath, json.ToJsonString());

        var loaded = KernelTuningTable.Load(TablePath);
        Assert.Equal(TuningTableStatus.Loaded, loaded.Status);
        Assert.Equal(Tuned with { PrefetchDistance = 0 }, loaded.Choose(KernelNames.MatVecFloat32, "large"));
    }

    [Fact]
    public void A_variant_name_shows_its_prefetch_distance_only_when_it_prefetches()
    {
        Assert.Equal("lanes w128 r2 u2 t2 p512", Tuned.ToString());
        Assert.Equal("lanes w128 r2 u2 t2", (Tuned with { PrefetchDistance = 0 }).ToString());
    }

    [Fact]
    public void Falls_back_to_defaults_for_unknown_shape_classes()
    {
        var table = TableWithWinner();
        Assert.Equal(MatVec.DefaultVariant, table.Choose("matvec_f32", "small"));
        Assert.Equal(TopK.DefaultVariant, table.Choose("topk", "any"));
        Assert.Throws<ArgumentException>(() => table.Choose("no-such-kernel", "any"));
    }

    [Fact]
    public void Missing_file_gives_defaults()
    {
        var table = KernelTuningTable.Load(TablePath);
        Assert.Equal(TuningTableStatus.Missing, table.Status);
        Assert.Equal(MatVec.DefaultVariant, table.Choose(KernelNames.MatVecFloat32, "large"));
    }

    [Fact]
    public void Corrupt_file_gives_defaults()
    {
        Directory.CreateDirectory(_folder);
        foreach (string text in new[] { "{ not json", "[]", "{}", "null" })
        {
            File.WriteAllText(TablePath, text);
            var table = KernelTuningTable.Load(TablePath);
            Assert.Equal(TuningTableStatus.Unreadable, table.Status);
            Assert.Equal(RmsNorm.DefaultVariant, table.Choose("rmsnorm", "any"));
        }
    }

    [Fact]
    public void File_from_another_machine_is_stale_and_gives_defaults()
    {
        TableWithWinner().Save(TablePath);
        var json = JsonNode.Parse(File.ReadAllText(TablePath))!;
        json["machine"]!["cpu_model"] = "Some Other CPU";
        File.WriteAllText(TablePath, json.ToJsonString());
        var table = KernelTuningTable.Load(TablePath);
        Assert.Equal(TuningTableStatus.Stale, table.Status);
        Assert.Equal(MatVec.DefaultVariant, table.Choose(KernelNames.MatVecFloat32, "large"));
    }

    [Fact]
    public void Shape_classes_follow_weight_bytes()
    {
        Assert.Equal("small", ShapeClasses.MatVec(64, 576, 4));
        Assert.Equal("medium", ShapeClasses.MatVec(1536, 576, 4));
        Assert.Equal("large", ShapeClasses.MatVec(49152, 576, 2));
    }
}
