namespace TimeBill.Templates.Evaluation;

/// <summary>How a run of statements ended: normally, or at a <c>{% break %}</c> / <c>{% continue %}</c> for the enclosing loop.</summary>
internal enum Flow
{
    Normal,
    Break,
    Continue,
}
