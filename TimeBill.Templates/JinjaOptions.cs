namespace TimeBill.Templates;

/// <summary>How a <see cref="JinjaTemplate"/> treats whitespace around tags, and where <c>strftime_now</c> reads the time.</summary>
public sealed record JinjaOptions
{
    /// <summary>The options Hugging Face chat templates run with: <see cref="TrimBlocks"/> and <see cref="LstripBlocks"/> on.</summary>
    public static JinjaOptions ChatTemplate { get; } = new() { TrimBlocks = true, LstripBlocks = true };

    /// <summary>Jinja's <c>trim_blocks</c>: the first newline after a block tag (<c>%}</c>) or comment is removed; not after <c>}}</c>, nor after <c>+%}</c>.</summary>
    public bool TrimBlocks { get; init; }

    /// <summary>
    /// Jinja's <c>lstrip_blocks</c>: spaces and tabs from the start of a line up to a block tag or comment are removed;
    /// not before <c>{{</c>, not before <c>{%+</c>, and not when other text precedes the tag on its line.
    /// </summary>
    public bool LstripBlocks { get; init; }

    /// <summary>The clock <c>strftime_now</c> reads (its local time); a fixed one makes renderings reproducible.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
