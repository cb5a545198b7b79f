using System.Text.Json.Nodes;

namespace TimeBill.Tests.Tokenization;

/// <summary>
/// tokenizers semantics the shared files do not exercise, on a small byte-level BPE (<see cref="TokenizerJsonFolder"/>:
/// bytes are ids 0-255, <c>ab</c> = 256, <c>Ġab</c> = 257), with the ids tokenizers' rules give.
/// </summary>
public sealed class TokenizerJsonSemanticsTests
{
    private const int A = 'a', B = 'b', Space = ' ', AB = 256, SpaceAB = 257;

    [Fact]
    public void MergesApplyWithinPreTokensOnly()
    {
        var tokenizer = new TokenizerJsonFolder().Load();
        int[] expected = [AB, SpaceAB, A, Space, B];
        Assert.Equal(expected, tokenizer.Encode("ab aba b"));
    }

    [Theory]
    [InlineData(false, "ab  <m>ab", new[] { AB, Space, Space, 258, AB })]
    [InlineData(true, "ab  <m>ab", new[] { AB, 258, AB })]
    public void LStripTakesInTheWhitespaceBefore(bool lstrip, string text, int[] expected)
    {
        var folder = new TokenizerJsonFolder();
        folder.AddToken("<m>", lstrip: lstrip);
        Assert.Equal(expected, folder.Load().Encode(text));
    }

    [Theory]
    [InlineData(false, "ab<m>  ab", new[] { AB, 258, Space, SpaceAB })]
    [InlineData(true, "ab<m>  ab", new[] { AB, 258, AB })]
    public void RStripTakesInTheWhitespaceAfter(bool rstrip, string text, int[] expected)
    {
        var folder = new TokenizerJsonFolder();
        folder.AddToken("<m>", rstrip: rstrip);
        Assert.Equal(expected, folder.Load().Encode(text));
    }

    [Theory]
    [InlineData("x <m> y", new[] { 'x', Space, 258, Space, 'y' })]
    [InlineData("x<m> y", new[] { 'x', '<', 'm', '>', Space, 'y' })]
    [InlineData("<m>_", new[] { (int)'<', 'm', '>', '_' })]
    [InlineData("<m>", new[] { 258 })]
    public void SingleWordTokensOnlyMatchApartFromWords(string text, int[] expected)
    {
        var folder = new TokenizerJsonFolder();
        folder.AddToken("<m>", singleWord: true);
        Assert.Equal(expected, folder.Load().Encode(text));
    }

    [Fact]
    public void NormalizedAddedTokensMatchTheNormalizedText()
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["normalizer"] = new JsonObject { ["type"] = "NFC" };
        int id = folder.AddToken("e\u0301", special: false, normalized: true);
        var tokenizer = folder.Load();

        int[] expected = [id, 'x'];
        Assert.Equal(expected, tokenizer.Encode("\u00e9x"));
        Assert.Equal(expected, tokenizer.Encode("e\u0301x"));
        Assert.Equal("\u00e9", tokenizer.IdToToken(id));
    }

    [Fact]
    public void AddPrefixSpacePutsASpaceBeforeEachPieceWithoutOne()
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["pre_tokenizer"]!["add_prefix_space"] = true;
        int id = folder.AddToken("<m>");
        var tokenizer = folder.Load();

        int[] expected = [SpaceAB, id, SpaceAB, SpaceAB];
        Assert.Equal(expected, tokenizer.Encode("ab<m> ab ab"));
    }

    [Theory]
    [InlineData("Isolated", false, "b", "aab", new[] { A, A, B })]
    [InlineData("Removed", false, "b", "abab", new[] { A, A })]
    [InlineData("MergedWithPrevious", false, "b", "aab", new[] { A, AB })]
    [InlineData("MergedWithNext", false, "a", "aab", new[] { A, AB })]
    [InlineData("Removed", true, "a+", "aabaa", new[] { A, A, A, A })]
    public void SplitBehaviorsKeepDropOrMergeTheMatches(string behavior, bool invert, string regex, string text, int[] expected)
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = regex }, ["behavior"] = behavior, ["invert"] = invert },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false }),
        };
        Assert.Equal(expected, folder.Load().Encode(text));
    }

    [Fact]
    public void IgnoreMergesTakesAWholeVocabularyEntry()
    {
        var folder = new TokenizerJsonFolder();
        folder.Vocab["aab"] = 258;
        var merging = folder.Load();
        folder.Json["model"]!["ignore_merges"] = true;
        var ignoring = folder.Load();

        int[] merged = [A, AB], whole = [258];
        Assert.Equal(merged, merging.Encode("aab"));
        Assert.Equal(whole, ignoring.Encode("aab"));
    }

    [Fact]
    public void ConfigAddBosTokenReplacesThePostProcessor()
    {
        var folder = new TokenizerJsonFolder();
        int bos = folder.AddToken("<s>");
        folder.Json["post_processor"] = Template("<s>", bos);
        var fromTemplate = folder.Load();
        var without = folder.Load(new JsonObject { ["bos_token"] = "<s>", ["add_bos_token"] = false });
        folder.Json["post_processor"] = null;
        var fromConfig = folder.Load(new JsonObject { ["bos_token"] = new JsonObject { ["content"] = "<s>" }, ["add_bos_token"] = true });

        int[] withBos = [bos, AB], plain = [AB];
        Assert.Equal(withBos, fromTemplate.EncodePrompt("ab"));
        Assert.Equal(plain, without.EncodePrompt("ab"));
        Assert.Equal(withBos, fromConfig.EncodePrompt("ab"));
        Assert.Equal(bos, fromConfig.BosTokenId);
        Assert.Equal(plain, fromConfig.Encode("ab"));
    }

    [Fact]
    public void ConfigSpecialTokensMissingFromTheFileAreAdded()
    {
        var folder = new TokenizerJsonFolder();
        var tokenizer = folder.Load(new JsonObject { ["eos_token"] = "</s>", ["bos_token"] = null });

        Assert.Equal(258, tokenizer.EosTokenId);
        Assert.Equal("</s>", tokenizer.EosToken);
        Assert.Null(tokenizer.BosToken);
        Assert.Equal(258, tokenizer.SpecialTokens["</s>"]);
        int[] expected = [AB, 258];
        Assert.Equal(expected, tokenizer.Encode("ab</s>"));
        Assert.Equal("ab", tokenizer.Decode(expected));
    }

    [Fact]
    public void AddedTokensOutsideTheByteLevelAlphabetDecodeAsTheirText()
    {
        var folder = new TokenizerJsonFolder();
        folder.AddToken("<sp ace ü>", special: false);
        var tokenizer = folder.Load();
        Assert.Equal("a<sp ace ü>b", tokenizer.Decode(tokenizer.Encode("a<sp ace ü>b")));
    }

    [Fact]
    public void ATokenizerJsonFilePathLoadsLikeItsFolder()
    {
        var folder = new TokenizerJsonFolder();
        folder.Write();
        int[] expected = [AB];
        Assert.Equal(expected, Core.Tokenization.TextTokenizer.Load(folder.JsonPath).Encode("ab"));
    }

    [Fact]
    public void AFolderWithBothFilesIsReadAsSentencePiece()
    {
        var folder = new TokenizerJsonFolder();
        folder.Write();
        File.Copy(Path.Combine(Support.SharedAssets.Model("stories260K"), "tokenizer.model"), Path.Combine(folder.Folder, "tokenizer.model"));
        Assert.Equal(512, Core.Tokenization.TextTokenizer.Load(folder.Folder).VocabularySize);
    }

    private static JsonObject Template(string token, int id) => new()
    {
        ["type"] = "TemplateProcessing",
        ["single"] = new JsonArray(
            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = token, ["type_id"] = 0 } },
            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
        ["special_tokens"] = new JsonObject { [token] = new JsonObject { ["id"] = token, ["ids"] = new JsonArray(id), ["tokens"] = new JsonArray(token) } },
    };
}
