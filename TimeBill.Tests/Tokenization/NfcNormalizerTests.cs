using TimeBill.Core.Tokenization;

namespace TimeBill.Tests.Tokenization;

/// <summary>NFC as Unicode defines it (the Qwen3 normalizer), without ICU: composition, ordering, exclusions, Hangul.</summary>
public sealed class NfcNormalizerTests
{
    [Theory]
    [InlineData("e\u0301", "\u00e9")]
    [InlineData("A\u030A vs \u00c5", "\u00c5 vs \u00c5")]
    [InlineData("\u212B", "\u00c5")]
    [InlineData("\u2126", "\u03a9")]
    [InlineData("\u0958", "\u0915\u093c")]
    [InlineData("a\u0323\u0301", "\u1ea1\u0301")]
    [InlineData("a\u0301\u0323", "\u1ea1\u0301")]
    [InlineData("e\u0301\u0301", "\u00e9\u0301")]
    [InlineData("\u0301start", "\u0301start")]
    [InlineData("\u1100\u1161\u11a8", "\uac01")]
    [InlineData("\uac00\u11a8", "\uac01")]
    [InlineData("\ud834\udd5e", "\ud834\udd57\ud834\udd65")]
    [InlineData("\u0344", "\u0308\u0301")]
    [InlineData("plain ASCII and 日本語 stay", "plain ASCII and 日本語 stay")]
    [InlineData("", "")]
    public void NormalizesAsUnicodeSays(string text, string expected)
    {
        Assert.Equal(expected, NfcNormalizer.Normalize(text));
        // The quick check may answer "no" for normalized text ("maybe"), never "yes" for text that changes.
        if (text != expected) Assert.False(NfcNormalizer.IsNormalized(text));
    }

    [Fact]
    public void UnpairedSurrogatesPassThrough() => Assert.Equal("a\ud800\u00e9", NfcNormalizer.Normalize("a\ud800e\u0301"));
}
