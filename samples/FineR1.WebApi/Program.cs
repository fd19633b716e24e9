// A Fine-R1 classification service:
//   dotnet run --project samples/FineR1.WebApi -- --FineR1:ModelPath=/models/Fine-R1-3B
//   curl -F image=@bird.jpg -F question="What bird is this?" -F candidates="Painted Bunting,Indigo Bunting" \
//        http://localhost:5000/classify
// Requests that arrive together are classified in one generation batch (FineR1:MaxBatchSize, FineR1:MaxWaitMs).
using FineR1.WebApi;

var app = ClassificationService.Build(args);
app.Run();
