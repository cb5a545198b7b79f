using TimeBill.Predictors.ResponseLength;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.ResponseLength;

/// <summary>Training reads a story's prefixes from one prefill; the features must be those the runtime computes per prompt.</summary>
[Collection(ModelCollection.Name)]
public sealed class StoryFeaturesTests(ModelFixture models)
{
    [Fact]
    public void OnePrefillPerStoryGivesEachPrefixItsOwnFeatures()
    {
        var model = models.Get("stories260K");
        var tokenizer = models.StoriesTokenizer;
        int[] first = [.. tokenizer.Encode("Once upon a time, there was a little girl named Lily. She loved to play outside.")];
        int[] second = [.. tokenizer.Encode("The dog ran to the park and saw a big red ball.")];
        // Prefixes given out of order and interleaved across stories, as a shuffled dataset holds them.
        LengthRecord[] records =
        [
            new(1, first[..9], 10, false), new(2, second, 5, false), new(1, first, 3, false),
            new(2, second[..4], 8, false), new(1, first[..2], 20, false),
        ];
        int layer = model.Config.LayerCount - 1;

        var byStory = StoryFeatures.Extract(model, records, layer);
        var perPrompt = SelfProbeLengthPredictor.ExtractFeatures(model, [.. records.Select(r => r.PromptIds)], layer);

        for (int i = 0; i < records.Length; i++)
        {
            Assert.Equal(perPrompt[i].Length, byStory[i].Length);
            for (int j = 0; j < perPrompt[i].Length; j++)
                Assert.True(Math.Abs(perPrompt[i][j] - byStory[i][j]) <= 1e-4f + 1e-4f * Math.Abs(perPrompt[i][j]),
                    $"record {i}, feature {j}: {byStory[i][j]} by story, {perPrompt[i][j]} alone");
        }
    }

    [Fact]
    public void PromptsOfOneStoryThatAreNotPrefixesOfOneSequenceAreRefused()
    {
        var model = models.Get("stories260K");
        LengthRecord[] records = [new(1, [1, 5, 6, 7], 3, false), new(1, [1, 5, 9], 3, false)];
        var error = Assert.Throws<ArgumentException>(() => StoryFeatures.Extract(model, records, 0));
        Assert.Contains("story 1", error.Message);
    }
}
