namespace TimeBill.Templates.Lexing;

/// <summary>What a <see cref="Token"/> is.</summary>
internal enum TokenKind
{
    /// <summary>Template text outside tags, after whitespace control.</summary>
    Data,
    /// <summary><c>{%</c></summary>
    BlockBegin,
    /// <summary><c>%}</c></summary>
    BlockEnd,
    /// <summary><c>{{</c></summary>
    VariableBegin,
    /// <summary><c>}}</c></summary>
    VariableEnd,
    /// <summary>An identifier or keyword.</summary>
    Name,
    /// <summary>A string literal; the value is the unescaped text.</summary>
    String,
    /// <summary>An integer literal; the value is a <see cref="long"/>.</summary>
    Integer,
    /// <summary>A float literal; the value is a <see cref="double"/>.</summary>
    Float,
    /// <summary>An operator or punctuation; the text is the operator.</summary>
    Operator,
    /// <summary>The end of the template.</summary>
    End,
}
