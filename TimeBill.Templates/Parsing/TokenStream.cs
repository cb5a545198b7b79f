using TimeBill.Templates.Lexing;

namespace TimeBill.Templates.Parsing;

/// <summary>The tokens of a template with one token of look-ahead and the expectations the parser states.</summary>
internal sealed class TokenStream
{
    private readonly List<Token> _tokens;
    private int _index;

    public TokenStream(List<Token> tokens)
    {
        _tokens = tokens;
        _tokens.Add(new Token(TokenKind.End, "", null, tokens.Count == 0 ? 1 : tokens[^1].Line));
    }

    public Token Current => _tokens[_index];

    public Token Peek(int ahead = 1) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    public Token Advance()
    {
        Token t = Current;
        if (_index < _tokens.Count - 1) _index++;
        return t;
    }

    public bool SkipOperator(string op)
    {
        if (!Current.IsOperator(op)) return false;
        Advance();
        return true;
    }

    public bool SkipName(string name)
    {
        if (!Current.IsName(name)) return false;
        Advance();
        return true;
    }

    public Token ExpectOperator(string op) =>
        Current.IsOperator(op) ? Advance() : throw Fail($"expected '{op}', found {Current.Describe()}.");

    public Token ExpectName(string? what = null) =>
        Current.Kind == TokenKind.Name ? Advance() : throw Fail($"expected {what ?? "a name"}, found {Current.Describe()}.");

    public void ExpectBlockEnd() =>
        _ = Current.Kind == TokenKind.BlockEnd ? Advance() : throw Fail($"expected the end of the statement ('%}}'), found {Current.Describe()}.");

    public void ExpectVariableEnd() =>
        _ = Current.Kind == TokenKind.VariableEnd ? Advance() : throw Fail($"expected the end of the expression ('}}}}'), found {Current.Describe()}.");

    public TemplateSyntaxException Fail(string problem, int? line = null) => new(line ?? Current.Line, problem);
}
