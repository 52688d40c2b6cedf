"""What each Lambda function does once Powertools has set up and the event is parsed:
validated configuration (``config``), events (``events``), entry logic (``handlers``) and
EMF metrics (``emf``). The files under functions/ call in here."""
