namespace FineR1.Inference.Chat;

/// <summary>
/// Splits streamed Fine-R1 output (<c>&lt;think&gt;…&lt;/think&gt;&lt;answer&gt;…&lt;/answer&gt;</c>) into reasoning and answer
/// text as it arrives, without the tags. A tag may arrive split over several tokens, so text that could be the start of
/// a tag is held back until the next piece decides.
/// </summary>
/// <example>
/// Pieces <c>"&lt;think&gt;red"</c>, <c>" wings&lt;/th"</c>, <c>"ink&gt;\n&lt;answer&gt;Cardinal&lt;/answer&gt;"</c> give
/// reasoning <c>"red"</c>, <c>" wings"</c> and answer <c>"Cardinal"</c>.
/// </example>
internal sealed class ReasoningStreamSplitter
{
    private static readonly string[] Tags = ["<think>", "</think>", "<answer>", "</answer>"];
    private string _pending = "";
    private bool _inAnswer;   // after </think> (or after <answer> when the model skipped the reasoning)
    private bool _answerStarted;

    /// <summary>Adds a piece of text; returns the reasoning and answer text that is now certain.</summary>
    public (string Reasoning, string Answer) Append(string piece)
    {
        _pending += piece;
        return Drain(final: false);
    }

    /// <summary>Returns whatever is still held back (the end of the stream).</summary>
    public (string Reasoning, string Answer) Flush() => Drain(final: true);

    private (string Reasoning, string Answer) Drain(bool final)
    {
        var reasoning = new System.Text.StringBuilder();
        var answer = new System.Text.StringBuilder();
        while (_pending.Length > 0)
        {
            int lt = _pending.IndexOf('<');
            if (lt < 0)
            {
                Emit(_pending);
                _pending = "";
                break;
            }
            Emit(_pending[..lt]);
            _pending = _pending[lt..];
            var tag = Tags.FirstOrDefault(t => _pending.StartsWith(t, StringComparison.Ordinal));
            if (tag != null)
            {
                if (tag is "</think>" or "<answer>") _inAnswer = true;
                _pending = _pending[tag.Length..];
                continue;
            }
            if (!final && Tags.Any(t => t.StartsWith(_pending, StringComparison.Ordinal))) break;   // maybe a tag: wait
            Emit("<");
            _pending = _pending[1..];
        }
        return (reasoning.ToString(), answer.ToString());

        void Emit(string text)
        {
            if (text.Length == 0) return;
            // The blank line between </think> and <answer> is layout, not answer text.
            if (_inAnswer && !_answerStarted && string.IsNullOrWhiteSpace(text)) return;
            if (_inAnswer) _answerStarted = true;
            (_inAnswer ? answer : reasoning).Append(text);
        }
    }
}
