using TimeBill.Core.Generation;
using TimeBill.Core.Sampling;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Generation;

/// <summary>Streaming, stopping, cancellation and concurrent use of the generator.</summary>
[Collection(ModelCollection.Name)]
public sealed class TextGeneratorTests(ModelFixture models)
{
    private TextGenerator Create() => new(models.Get("stories260K"), models.StoriesTokenizer);

    [Fact]
    public async Task StreamedPiecesConcatenateToTheResultText()
    {
        using var generator = Create();
        var options = new GenerationOptions { MaxNewTokens = 80, Sampling = new SamplingOptions { Temperature = 1, TopP = 0.9f, Seed = 5 } };
        var pieces = new List<string>();
        await foreach (var token in generator.StreamAsync("Once upon a time", options)) pieces.Add(token.Text);
        var result = await generator.GenerateAsync("Once upon a time", options);
        Assert.Equal(result.Text, string.Concat(pieces).TrimStart() == result.Text.TrimStart() ? result.Text : string.Concat(pieces));
        Assert.Equal(result.Text.TrimStart(), string.Concat(pieces).TrimStart());
    }

    [Fact]
    public void StopsOnStopTokenWithoutEmittingIt()
    {
        using var generator = Create();
        var result = generator.Generate(models.StoriesTokenizer.EncodePrompt("Once upon a time"), new GenerationOptions { MaxNewTokens = 400 });
        Assert.Equal(StopReason.StopToken, result.StopReason);
        Assert.DoesNotContain(1, result.Ids);
        Assert.DoesNotContain(2, result.Ids);
    }

    [Fact]
    public void CancellationStopsBetweenStepsAndLeavesTheGeneratorUsable()
    {
        using var generator = Create();
        using var cancel = new CancellationTokenSource();
        int seen = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => generator.Generate(
            models.StoriesTokenizer.EncodePrompt("Once upon a time"), new GenerationOptions { MaxNewTokens = 200 },
            _ => { if (++seen == 5) cancel.Cancel(); }, cancel.Token));
        Assert.Equal(5, seen);

        var reference = SharedAssets.Reference("stories260K").GetProperty("cases")[0];
        var result = generator.Generate(reference.Ints("input_ids"), new GenerationOptions { MaxNewTokens = 20 });
        Assert.Equal(reference.Ints("greedy_continuation_ids")[..20], result.Ids);
    }

    [Fact]
    public async Task ParallelCallersGetTheSameAnswersAsSequentialOnes()
    {
        using var generator = Create();
        string[] prompts = ["Once upon a time", "The little bird was sad because", "Lily and Tom went to the park.", "One day, a boy"];
        var options = new GenerationOptions { MaxNewTokens = 40 };
        var sequential = new List<string>();
        foreach (var p in prompts) sequential.Add((await generator.GenerateAsync(p, options)).Text);
        var parallel = await Task.WhenAll(prompts.Concat(prompts).Select(p => generator.GenerateAsync(p, options)));
        Assert.Equal(sequential.Concat(sequential), parallel.Select(r => r.Text));
    }

    [Fact]
    public void BadRequestsAreRejectedClearly()
    {
        using var generator = Create();
        Assert.Throws<ArgumentException>(() => generator.Generate([], new GenerationOptions()));
        Assert.Throws<ArgumentException>(() => generator.Generate(Enumerable.Repeat(5, 512).ToArray(), new GenerationOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate([1], new GenerationOptions { MaxNewTokens = 0 }));
    }
}
