// Asks Fine-R1 about an image through Microsoft.Extensions.AI's IChatClient and streams the answer:
//   dotnet run --project samples/FineR1.Chat -- <model-folder> <image> "What bird is this?" ["A,B,C,D"]
// The chain of thought arrives as TextReasoningContent (printed dimmed), the answer as TextContent.
using FineR1.Core.Pipeline;
using FineR1.Inference.Chat;
using FineR1.Inference.Classification;
using Microsoft.Extensions.AI;

if (args.Length is < 3 or > 4)
{
    Console.Error.WriteLine("usage: FineR1.Chat <model-folder> <image> <question> [comma-separated candidates]");
    return 2;
}
using var model = await FineR1Model.LoadAsync(args[0]);
using IChatClient chat = new FineR1ChatClient(new FineGrainedClassifier(model), Path.GetFileName(args[0].TrimEnd('/')));

var question = new ChatMessage(ChatRole.User,
    [new TextContent(args[2]), new DataContent(await File.ReadAllBytesAsync(args[1]), MediaType(args[1]))]);
var options = new ChatOptions();
if (args.Length == 4)
    options.AdditionalProperties = new() { [FineR1ChatClient.CandidatesKey] = args[3].Split(',', StringSplitOptions.TrimEntries) };

bool answering = false;
await foreach (var update in chat.GetStreamingResponseAsync([question], options))
    foreach (var content in update.Contents)
    {
        if (content is TextReasoningContent reasoning) Console.Write($"\x1b[2m{reasoning.Text}\x1b[0m");
        else if (content is TextContent text)
        {
            if (!answering) Console.Write("\n\nAnswer: ");
            answering = true;
            Console.Write(text.Text);
        }
    }
Console.WriteLine();
return 0;

static string MediaType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
{
    ".jpg" or ".jpeg" => "image/jpeg",
    ".webp" => "image/webp",
    ".gif" => "image/gif",
    ".bmp" => "image/bmp",
    _ => "image/png",
};
