using System.Text.Json.Nodes;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Tokenization;

namespace TimeBill.Tests.Tokenization;

/// <summary>Bad tokenizer.json / tokenizer_config.json files are refused with the file and the problem named.</summary>
public sealed class TokenizerJsonErrorTests
{
    private static void AssertRefused(TokenizerJsonFolder folder, string problem, JsonObject? config = null, bool inConfig = false)
    {
        folder.Write(config);
        var error = Assert.Throws<ModelLoadException>(() => TextTokenizer.Load(folder.Folder));
        Assert.Equal(inConfig ? folder.ConfigPath : folder.JsonPath, error.Path);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void TheValidFolderLoads() => Assert.NotNull(new TokenizerJsonFolder().Load());

    [Fact]
    public void MalformedJson()
    {
        var folder = new TokenizerJsonFolder();
        File.WriteAllText(folder.JsonPath, "{ \"model\": { \"type\": \"BPE\", ");
        var error = Assert.Throws<ModelLoadException>(() => TextTokenizer.Load(folder.Folder));
        Assert.Equal(folder.JsonPath, error.Path);
        Assert.Contains("invalid JSON", error.Message);
    }

    [Fact]
    public void MissingModelType()
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["model"]!.AsObject().Remove("type");
        AssertRefused(folder, "model.type is missing");
    }

    [Theory]
    [InlineData("Unigram")]
    [InlineData("WordPiece")]
    public void UnknownModelType(string type)
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["model"]!["type"] = type;
        AssertRefused(folder, $"model type '{type}' is not supported");
    }

    [Fact]
    public void MergeOfATokenNotInTheVocabulary()
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["model"]!["merges"]!.AsArray().Add(new JsonArray("a", "zzz"));
        AssertRefused(folder, "model.merges[2] ('a zzz') refers to 'zzz', which is not in the vocabulary");
    }

    [Fact]
    public void LegacyMergeOfATokenNotInTheVocabulary()
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["model"]!["merges"] = new JsonArray("a b", "qq b");
        AssertRefused(folder, "model.merges[1] ('qq b') refers to 'qq'");
    }

    [Fact]
    public void MergeWhoseResultIsNotInTheVocabulary()
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["model"]!["merges"]!.AsArray().Add(new JsonArray("b", "a"));
        AssertRefused(folder, "makes 'ba', which is not in the vocabulary");
    }

    [Fact]
    public void MalformedMerge()
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["model"]!["merges"] = new JsonArray("a b c");
        AssertRefused(folder, "model.merges[0] is neither");
    }

    [Theory]
    [InlineData(300, "has id 300, but tokenizers gives it id 258")]
    [InlineData(-1, "has no non-negative integer 'id'")]
    public void AddedTokenWithABadId(int id, string problem)
    {
        var folder = new TokenizerJsonFolder();
        folder.AddToken("<s>");
        folder.Json["added_tokens"]![0]!["id"] = id;
        AssertRefused(folder, $"added_tokens[0] ('<s>') {problem}");
    }

    [Fact]
    public void AddedTokenWhoseIdBelongsToAnotherVocabularyEntry()
    {
        var folder = new TokenizerJsonFolder();
        folder.AddToken("ab");
        folder.Json["added_tokens"]![0]!["id"] = 257;
        AssertRefused(folder, "added_tokens[0] ('ab') has id 257, but tokenizers gives it id 256");
    }

    [Theory]
    [InlineData("NFKC")]
    [InlineData("Lowercase")]
    public void UnsupportedNormalizer(string type)
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["normalizer"] = new JsonObject { ["type"] = "Sequence", ["normalizers"] = new JsonArray(new JsonObject { ["type"] = type }) };
        AssertRefused(folder, $"normalizer type '{type}' is not supported");
    }

    [Theory]
    [InlineData("Metaspace")]
    [InlineData("Digits")]
    public void UnsupportedPreTokenizer(string type)
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(new JsonObject { ["type"] = type }, folder.Json["pre_tokenizer"]!.DeepClone()),
        };
        AssertRefused(folder, $"pre_tokenizer type '{type}' is not supported");
    }

    [Fact]
    public void PreTokenizerWithoutByteLevel()
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = "\\s+" }, ["behavior"] = "Isolated", ["invert"] = false,
        };
        AssertRefused(folder, "pre_tokenizer has no ByteLevel step");
    }

    [Fact]
    public void SplitPatternDotNetCannotRun()
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = "(unclosed" }, ["behavior"] = "Isolated", ["invert"] = false },
                folder.Json["pre_tokenizer"]!.DeepClone()),
        };
        AssertRefused(folder, "pre_tokenizer pattern '(unclosed' is not a regular expression");
    }

    [Theory]
    [InlineData("WordPiece")]
    [InlineData("Metaspace")]
    public void UnsupportedDecoder(string type)
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["decoder"] = new JsonObject { ["type"] = type };
        AssertRefused(folder, $"decoder type '{type}' is not supported");
    }

    [Fact]
    public void UnsupportedPostProcessor()
    {
        var folder = new TokenizerJsonFolder();
        folder.Json["post_processor"] = new JsonObject { ["type"] = "BertProcessing" };
        AssertRefused(folder, "post_processor type 'BertProcessing' is not supported");
    }

    [Fact]
    public void ConfigTokenOfTheWrongType() =>
        AssertRefused(new TokenizerJsonFolder(), "field 'eos_token' must be", new JsonObject { ["eos_token"] = 5 }, inConfig: true);

    [Fact]
    public void MalformedConfig()
    {
        var folder = new TokenizerJsonFolder();
        folder.Write();
        File.WriteAllText(folder.ConfigPath, "[1, 2");
        var error = Assert.Throws<ModelLoadException>(() => TextTokenizer.Load(folder.Folder));
        Assert.Equal(folder.ConfigPath, error.Path);
        Assert.Contains("invalid JSON", error.Message);
    }
}
