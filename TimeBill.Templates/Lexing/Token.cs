namespace TimeBill.Templates.Lexing;

/// <summary>One lexical token: its kind, source text (for names and operators), literal value and 1-based line.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, object? Value, int Line)
{
    public bool IsOperator(string op) => Kind == TokenKind.Operator && Text == op;

    public bool IsName(string name) => Kind == TokenKind.Name && Text == name;

    /// <summary>The token as an error message names it.</summary>
    public string Describe() => Kind switch
    {
        TokenKind.Data => "template text",
        TokenKind.BlockBegin => "'{%'",
        TokenKind.BlockEnd => "'%}'",
        TokenKind.VariableBegin => "'{{'",
        TokenKind.VariableEnd => "'}}'",
        TokenKind.End => "the end of the template",
        TokenKind.String => "a string",
        _ => $"'{Text}'",
    };
}
