/** Actor kinds: users and titles, and a training job's coordinator and parameter server (keyed by version). */
export const Kind = { User: 'user', Title: 'title', TrainJob: 'train-job', TrainPs: 'train-ps' } as const;
