using TimeBill.Core.Generation;
using TimeBill.Core.Tokenization;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Generation;

/// <summary>Greedy generation reproduces the reference continuations token for token.</summary>
[Collection(ModelCollection.Name)]
public sealed class GreedyContinuationTests(ModelFixture models)
{
    [Theory]
    [InlineData("stories260K", 0)]
    [InlineData("stories260K", 1)]
    [InlineData("stories260K", 2)]
    [InlineData("stories260K", 3)]
    [InlineData("tiny-random-qwen2", 0)]
    [InlineData("tiny-random-qwen2", 1)]
    [InlineData("tiny-random-llama3-bf16", 0)]
    [InlineData("tiny-random-llama3-bf16", 1)]
    [InlineData("tiny-random-llama3-bf16", 2)]
    public void GreedyContinuationEqualsReference(string name, int index) => AssertContinuation(name, index, int.MaxValue);

    /// <summary>
    /// The reference's continuation of the 300-token Qwen2 case disagrees with the reference model itself from its
    /// 4th token on: feeding prompt + the first 3 reference tokens, both this model and an independent float64
    /// re-implementation give argmax 353 (logit 5.526) where the reference continues with 821 (5.249). Its
    /// prefill logits and all 300 per-position argmaxes do match (see ReferenceParityTests). The part of the
    /// continuation that is consistent is asserted here.
    /// </summary>
    [Fact]
    public void LongQwen2ContinuationMatchesReferenceWhereTheReferenceIsSelfConsistent() => AssertContinuation("tiny-random-qwen2", 2, 3);

    private void AssertContinuation(string name, int index, int compareTokens)
    {
        var model = models.Get(name);
        var reference = SharedAssets.Reference(name).GetProperty("cases")[index];
        int[] expected = reference.Ints("greedy_continuation_ids")[..Math.Min(compareTokens, reference.Ints("greedy_continuation_ids").Length)];
        bool stories = name == "stories260K";
        using var generator = new TextGenerator(model, stories ? models.StoriesTokenizer : TextTokenizer.Load(SharedAssets.Model("llama2-tokenizer")));
        var options = new GenerationOptions
        {
            MaxNewTokens = expected.Length,
            StopTokenIds = stories ? [1, 2] : [], // the random models run exactly 16 tokens without a stop id
        };
        var result = generator.Generate(reference.Ints("input_ids"), options);
        Assert.Equal(expected, result.Ids);
        if (stories && compareTokens == int.MaxValue)
            Assert.Equal(reference.GetProperty("greedy_continuation_text").GetString(), result.Text.TrimStart());
    }
}
