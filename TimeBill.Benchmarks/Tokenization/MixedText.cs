using System.Text;

namespace TimeBill.Benchmarks.Tokenization;

/// <summary>
/// Deterministic mixed text for tokenizer benchmarks: English prose with made-up rare words, code with fresh
/// identifiers, numbers, CJK, Korean and emoji (ZWJ sequences and skin tones included), so that pre-tokens repeat
/// about as often as in real text rather than always hitting a cache.
/// </summary>
public static class MixedText
{
    private static readonly string[] Common =
    [
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not", "he",
        "I", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were", "their",
        "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no",
        "time", "budget", "model", "token", "deadline", "latency", "request", "answer", "question", "system", "people",
        "don't", "it's", "we'll", "they've", "She'd", "WE'RE",
    ];

    private static readonly string[] Syllables = ["ka", "lo", "mi", "tra", "ven", "sor", "qui", "ble", "ph", "ux", "zen", "dor", "ith", "al"];

    private static readonly string[] Emoji = ["🙂", "😂", "👍🏽", "👨‍👩‍👧‍👦", "🇩🇪", "🚀", "❤️", "🤖", "🎉", "🙏🏻"];

    /// <summary>About <paramref name="utf8Bytes"/> bytes of UTF-8 (never more, never a split character) from <paramref name="seed"/>.</summary>
    public static string Build(int utf8Bytes, int seed = 42)
    {
        var random = new Random(seed);
        var text = new StringBuilder(utf8Bytes);
        int bytes = 0;
        while (true)
        {
            string part = random.Next(10) switch
            {
                < 5 => Prose(random),
                < 7 => Code(random),
                7 => Numbers(random),
                8 => Cjk(random),
                _ => EmojiLine(random),
            };
            int partBytes = Encoding.UTF8.GetByteCount(part);
            if (bytes + partBytes > utf8Bytes) return text.ToString();
            text.Append(part);
            bytes += partBytes;
        }
    }

    private static string Word(Random random) => random.Next(8) == 0
        ? string.Concat(Enumerable.Range(0, random.Next(2, 5)).Select(_ => Syllables[random.Next(Syllables.Length)]))
        : Common[random.Next(Common.Length)];

    private static string Prose(Random random)
    {
        var sentence = new StringBuilder();
        int words = random.Next(6, 20);
        for (int i = 0; i < words; i++)
        {
            string word = Word(random);
            sentence.Append(i == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word);
            sentence.Append(random.Next(12) == 0 ? ", " : " ");
        }
        sentence.Length--;
        return sentence.Append(random.Next(4) == 0 ? "!\n\n" : ". ").ToString();
    }

    private static string Code(Random random)
    {
        string name = Word(random) + "_" + Word(random), arg = Word(random) + random.Next(100);
        return $"def {name}({arg}, n={random.Next(1000)}):\n    if {arg} > {random.Next(10)}:\n        return {arg} * {random.Next(1, 64)}  # {Word(random)}\n"
            + $"    return [{arg}[i] for i in range(n)]\r\n\tconst {name}Value = \"{Word(random)}\";\n";
    }

    private static string Numbers(Random random) =>
        $"{random.Next(1900, 2100)}-{random.Next(1, 13):D2}-{random.Next(1, 29):D2} {random.NextDouble() * 1000:F4} {random.NextInt64(1_000_000_000_000)} +{random.Next(100)}% ";

    private static string Cjk(Random random)
    {
        var line = new StringBuilder();
        for (int i = random.Next(8, 30); i > 0; i--) line.Append((char)random.Next(0x4E00, 0x9FA6));
        line.Append(random.Next(2) == 0 ? "，" : "。");
        for (int i = random.Next(2, 6); i > 0; i--) line.Append((char)random.Next(0xAC00, 0xD7A4));
        return line.Append(' ').ToString();
    }

    private static string EmojiLine(Random random) =>
        string.Join(' ', Enumerable.Range(0, random.Next(2, 6)).Select(_ => Emoji[random.Next(Emoji.Length)])) + " " + Word(random) + " ";
}
