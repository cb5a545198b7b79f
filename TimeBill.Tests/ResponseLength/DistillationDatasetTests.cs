using TimeBill.Core.Model;
using TimeBill.Predictors.ResponseLength;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.ResponseLength;

/// <summary>Splitting by story, the resumable dataset file and the builder's determinism across a restart.</summary>
[Collection(ModelCollection.Name)]
public sealed class DistillationDatasetTests(ModelFixture models) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rlp-dataset-").FullName;

    private static DistillationSettings Tiny(string identity) => new()
    {
        ModelIdentity = identity, Seed = 3, MaxTotalTokens = 32, MinPrefix = 2, MaxPrefix = 20, PrefixesPerStory = 2,
    };

    [Fact]
    public void SplitsAreByStoryDisjointAndCovering()
    {
        var splitter = new StorySplitter();
        var records = Enumerable.Range(0, 600).SelectMany(s => Enumerable.Range(2, 3).Select(p => new LengthRecord(s, new int[p], 10, false))).ToList();
        var train = splitter.Select(records, DatasetSplit.Train);
        var validation = splitter.Select(records, DatasetSplit.Validation);
        var test = splitter.Select(records, DatasetSplit.Test);
        Assert.Equal(records.Count, train.Count + validation.Count + test.Count);
        var stories = new[] { train, validation, test }.Select(s => s.Select(r => r.Story).ToHashSet()).ToArray();
        Assert.Empty(stories[0].Intersect(stories[1]));
        Assert.Empty(stories[0].Intersect(stories[2]));
        Assert.Empty(stories[1].Intersect(stories[2]));
        Assert.InRange(stories[2].Count / 600.0, 0.09, 0.21); // 15 % ± sampling noise of 600 stories
        Assert.InRange(stories[1].Count / 600.0, 0.09, 0.21);
        Assert.Equal(splitter.SplitOf(42), new StorySplitter().SplitOf(42)); // stable
    }

    [Fact]
    public void StoryRecordsArePrefixesWithTheirRemainderAsResponse()
    {
        var story = new DistilledStory(5, [1, 10, 11, 12, 13, 14], false, [2, 4]);
        var records = story.Records().ToList();
        Assert.Equal([1, 10], records[0].PromptIds);
        Assert.Equal(4, records[0].ResponseLength);
        Assert.Equal([1, 10, 11, 12], records[1].PromptIds);
        Assert.Equal(2, records[1].ResponseLength);
    }

    [Fact]
    public void PrefixesAreDistinctInRangeAndSeeded()
    {
        var s = new DistillationSettings { PrefixesPerStory = 5, MinPrefix = 2, MaxPrefix = 400 };
        var a = DistillationBuilder.ChoosePrefixes(s, 7, 300, false);
        Assert.Equal(5, a.Distinct().Count());
        Assert.All(a, p => Assert.InRange(p, 2, 300));
        Assert.Equal(a, DistillationBuilder.ChoosePrefixes(s, 7, 300, false));
        Assert.All(DistillationBuilder.ChoosePrefixes(s, 7, 512, true), p => Assert.InRange(p, 2, 400));
        Assert.Equal([2, 3], DistillationBuilder.ChoosePrefixes(s, 1, 3, false)); // short story: every length
    }

    [Fact]
    public void FileResumesAfterATornLineAndRefusesOtherSettings()
    {
        string path = Path.Combine(_folder, "d.jsonl");
        var settings = Tiny("m");
        using (var file = DistillationDatasetFile.OpenForAppend(path, settings))
        {
            file.Append(new DistilledStory(0, [1, 5, 6], false, [2]));
            file.Append(new DistilledStory(1, [1, 7, 8, 9], true, [2, 3]));
        }
        File.AppendAllText(path, "{\"story\":2,\"ids\":[1,"); // killed mid-write
        using (var file = DistillationDatasetFile.OpenForAppend(path, settings))
        {
            Assert.Equal(2, file.Stories.Count);
            file.Append(new DistilledStory(2, [1, 3], false, [2]));
        }
        var (read, stories) = DistillationDatasetFile.Read(path);
        Assert.Equal(settings, read);
        Assert.Equal([0L, 1, 2], stories.Select(s => s.Story));
        Assert.True(stories[1].HitLengthCap);
        Assert.Throws<InvalidDataException>(() => DistillationDatasetFile.OpenForAppend(path, settings with { Seed = 4 }));
    }

    [Fact]
    public void ResumedBuildEqualsOneShotBuild()
    {
        var model = models.Get("stories260K");
        var settings = Tiny(model.Identity);
        var builder = new DistillationBuilder(() => CausalLanguageModel.Load(SharedAssets.Model("stories260K")));
        string oneShot = Path.Combine(_folder, "one.jsonl"), resumed = Path.Combine(_folder, "two.jsonl");
        using (var f = DistillationDatasetFile.OpenForAppend(oneShot, settings)) builder.Build(f, 6);
        using (var f = DistillationDatasetFile.OpenForAppend(resumed, settings)) builder.Build(f, 2);
        using (var f = DistillationDatasetFile.OpenForAppend(resumed, settings)) builder.Build(f, 6, workers: 2);
        var a = DistillationDatasetFile.Read(oneShot).Stories;
        var b = DistillationDatasetFile.Read(resumed).Stories;
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Ids, b[i].Ids);
            Assert.Equal(a[i].Prefixes, b[i].Prefixes);
            Assert.Equal(1, a[i].Ids[0]); // BOS first
            Assert.True(a[i].Ids.Length <= 32);
            Assert.Equal(a[i].Ids.Length == 32, a[i].HitLengthCap);
            Assert.DoesNotContain(a[i].Ids[1..], id => id is 1 or 2); // stop tokens end a story, never inside it
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
