using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using Xunit.Abstractions;

namespace TimeBill.Tests.Gguf;

/// <summary>Perplexity of a fixed story under stories260K in every file type, this library against llama.cpp on the same file.</summary>
public sealed class PerplexityTests(GgufFilesFixture files, ITestOutputHelper output) : IClassFixture<GgufFilesFixture>
{
    /// <summary>A story in the style of TinyStories (the data stories260K learned from), written for this test.</summary>
    public const string Story =
        "Once upon a time, there was a little girl named Lily. She loved to play in the park with her red ball. "
        + "One day, Lily saw a big dog under a tree. The dog was sad because he was lost. Lily wanted to help him. "
        + "She said, \"Do not be sad, dog. I will help you find your home.\" The dog wagged his tail and licked her hand. "
        + "Lily and the dog walked all around the park. They looked near the pond and behind the big slide. "
        + "Then they saw a boy named Tom. Tom was crying and calling, \"Max! Max! Where are you?\" "
        + "The dog barked and ran to Tom. Tom hugged the dog and smiled. \"Thank you for finding my dog,\" he said to Lily. "
        + "Lily was very happy. Tom and Lily played with the red ball and the dog all day. They became best friends. "
        + "From that day on, they met at the park every day to play together.";

    [Theory]
    [InlineData("f32")]
    [InlineData("f16")]
    [InlineData("bf16")]
    [InlineData("q8_0")]
    [InlineData("q4_0")]
    public void Perplexity_is_within_one_percent_of_llama_cpp(string type)
    {
        string file = files.Get("stories260K", type);
        int[] ids = TextTokenizer.Load(file).EncodePrompt(Story);
        Assert.InRange(ids.Length, 200, 511);
        using var lm = CausalLanguageModel.Load(file);
        using var cache = lm.CreateCache(ids.Length);
        using var logits = lm.Forward(ids, cache, allLogits: true);
        var ours = Enumerable.Range(0, ids.Length).Select(p => logits[p].data<float>().ToArray()).ToArray();
        double mine = Perplexity(ours, ids), theirs = Perplexity(LlamaCppReference.Logits(file, ids), ids);
        output.WriteLine($"stories260K {type}: {ids.Length} tokens, perplexity {mine:F4} here, {theirs:F4} llama.cpp ({(mine / theirs - 1) * 100:F3} %)");
        Assert.InRange(mine / theirs, 0.99, 1.01);
    }

    /// <summary>exp of the mean negative log-likelihood of each next token, from float64 log-softmax.</summary>
    public static double Perplexity(float[][] logits, int[] ids)
    {
        double nll = 0;
        for (int p = 0; p + 1 < ids.Length; p++)
        {
            float[] row = logits[p];
            double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max));
            nll -= row[ids[p + 1]] - max - Math.Log(sum);
        }
        return Math.Exp(nll / (ids.Length - 1));
    }
}
