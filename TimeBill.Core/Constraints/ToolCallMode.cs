namespace TimeBill.Core.Constraints;

/// <summary>How tool calls and free text share an answer constrained by <see cref="OutputConstraint.ToolCalls"/>.</summary>
public enum ToolCallMode
{
    /// <summary>Free text, which may end in tool calls: once the text writes the opening tag, the rest is a constrained call.</summary>
    Auto,

    /// <summary>The whole answer is tool calls (at least one), nothing before or after.</summary>
    Required,
}
