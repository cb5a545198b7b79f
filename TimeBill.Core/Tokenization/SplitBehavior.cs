namespace TimeBill.Core.Tokenization;

/// <summary>What a Split pre-tokenizer does with the pieces its pattern matches (tokenizers' <c>SplitDelimiterBehavior</c>).</summary>
internal enum SplitBehavior
{
    /// <summary>Matches and the text between them are separate pieces.</summary>
    Isolated,

    /// <summary>Matches are dropped.</summary>
    Removed,

    /// <summary>A match joins the piece before it.</summary>
    MergedWithPrevious,

    /// <summary>A match joins the piece after it.</summary>
    MergedWithNext,

    /// <summary>Consecutive matches join into one piece, as do consecutive non-matches.</summary>
    Contiguous,
}
