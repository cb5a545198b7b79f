using System.Globalization;
using System.Text.RegularExpressions;
using TimeBill.Core.Tokenization;

namespace TimeBill.Tests.Tokenization;

/// <summary>Split patterns see a supplementary character as one code point of its category, as Oniguruma does.</summary>
public sealed class RegexSplitterTests
{
    [Fact]
    public void SupplementaryCharactersMatchAsTheirCategory()
    {
        var splitter = new RegexSplitter(new Regex(@"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|\s+"), SplitBehavior.Isolated, invert: false);
        const string text = "🙂abc 𝐀𝐁 x𝟏";
        var pieces = new List<(int Start, int Length)>();
        splitter.Split(text, (0, text.Length), pieces);
        string[] expected = ["🙂abc", " 𝐀𝐁", " x", "𝟏"];
        Assert.Equal(expected, pieces.Select(p => text.Substring(p.Start, p.Length)));
    }

    [Fact]
    public void StandInsHaveTheCategoryTheyStandFor()
    {
        Assert.Equal(Enum.GetValues<UnicodeCategory>().Length, RegexSplitter.StandIns.Length);
        for (int category = 0; category < RegexSplitter.StandIns.Length; category++)
            if ((UnicodeCategory)category != UnicodeCategory.Surrogate)
                Assert.Equal((UnicodeCategory)category, CharUnicodeInfo.GetUnicodeCategory(RegexSplitter.StandIns[category]));
    }
}
